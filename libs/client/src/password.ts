import { createHash } from 'node:crypto';

/** Lowercase hex MD5, the digest TeamTalk clients send as IMLoginReq.password (docs/FLOWS.md §2). */
export function md5hex(s: string): string {
  return createHash('md5').update(s, 'utf8').digest('hex');
}
