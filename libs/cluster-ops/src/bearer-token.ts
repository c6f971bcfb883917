import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks `Authorization: Bearer <token>` against the configured token in
 * constant time: both sides are hashed first, so neither the length nor a
 * common prefix of a wrong token shows in the timing.
 */
export class BearerToken {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = createHash('sha256').update(token, 'utf8').digest();
  }

  accepts(authorization: string | undefined): boolean {
    const m = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    const given = createHash('sha256')
      .update(m?.[1] ?? '', 'utf8')
      .digest();
    // Compared even without a header, so that case takes the same time too.
    return timingSafeEqual(given, this.expected) && m !== null;
  }
}
