// @noble/hashes rather than node:crypto: the client core also runs in browsers, whose WebCrypto has no MD5.
import { md5 } from '@noble/hashes/legacy';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';

/** Lowercase hex MD5, the digest TeamTalk clients send as IMLoginReq.password (docs/FLOWS.md §2). */
export function md5hex(s: string): string {
  return bytesToHex(md5(utf8ToBytes(s)));
}
