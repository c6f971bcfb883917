import { TEAMTALK_DEFAULT_AES_KEY, decryptContent, encryptContent, padTeamTalk } from './content-cipher';

describe('TeamTalk content cipher (docs/PROTOCOL.md §5)', () => {
  // Vectors computed with `openssl enc -aes-256-ecb -nopad` over the padded bytes.
  it.each([
    ['hello', 'nnZSBwfPCz60q69ddmfIJA=='],
    ['你好 TierTalk', 'yV3piYxWWl8S7vi6+Zven1zIdZRUsFN9eOwYZegap80='],
  ])('encrypts %j like TeamTalk clients', (plain, b64) => {
    expect(encryptContent(plain).toString('latin1')).toBe(b64);
    expect(decryptContent(Buffer.from(b64))).toBe(plain);
  });

  it('pads to whole blocks with the big-endian length in the last 4 bytes', () => {
    expect(padTeamTalk(Buffer.alloc(0)).length).toBe(16);
    expect(padTeamTalk(Buffer.alloc(12)).length).toBe(16);
    expect(padTeamTalk(Buffer.alloc(13)).length).toBe(32); // remainder > 12: no room for the length
    expect(padTeamTalk(Buffer.alloc(16)).length).toBe(32); // remainder 0: one more block
    expect(padTeamTalk(Buffer.alloc(17)).length).toBe(32);
    const p = padTeamTalk(Buffer.from('abc'));
    expect([...p.subarray(0, 3)]).toEqual([97, 98, 99]);
    expect(p.subarray(3, 12).every((b) => b === 0)).toBe(true);
    expect(p.readUInt32BE(12)).toBe(3);
  });

  it('round-trips every length around the block edges', () => {
    for (let n = 0; n <= 40; n += 1) {
      const text = 'x'.repeat(n);
      expect(decryptContent(encryptContent(text))).toBe(text);
    }
  });

  it('leaves what is not TeamTalk ciphertext alone', () => {
    expect(decryptContent(Buffer.from('hi bob'))).toBeUndefined();
    expect(decryptContent(Buffer.from(''))).toBeUndefined();
    expect(decryptContent(Buffer.from('aGVsbG8='))).toBeUndefined(); // base64, but 5 bytes
    expect(decryptContent(Buffer.from('not base64 at all but 32 chars!!'))).toBeUndefined();
    // Right shape, wrong key: the length trailer or the UTF-8 check fails.
    const other = encryptContent('secret', 'abcdefghijklmnopqrstuvwxyz012345');
    expect(decryptContent(other, TEAMTALK_DEFAULT_AES_KEY)).toBeUndefined();
    expect(decryptContent(other, 'abcdefghijklmnopqrstuvwxyz012345')).toBe('secret');
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => encryptContent('x', 'short')).toThrow(RangeError);
  });
});
