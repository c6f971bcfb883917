import { createCipheriv, createDecipheriv } from 'node:crypto';

// protocol.md §5: TeamTalk's content "encryption" — AES-256-ECB with its own
// padding (zero fill, plaintext length as a big-endian uint32 in the last 4
// bytes), then base64. Reproduced byte-for-byte; it is obfuscation, not security.

const BLOCK = 16;

function keyBytes(key: string): Buffer {
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length !== 32) throw new RangeError(`TeamTalk's AES key must be 32 bytes, got ${bytes.length}`);
  return bytes;
}

/** The base64 text a TeamTalk client sends for `plain` (what is stored in `content`). */
export function teamTalkEncrypt(plain: string, key: string): string {
  const data = Buffer.from(plain, 'utf8');
  const n = data.length;
  let blocks = Math.ceil(n / BLOCK);
  // Room for the 4-byte length: a full last block, or one with fewer than 4 free bytes, gets another block.
  if (n % BLOCK === 0 || n % BLOCK > 12) blocks += 1;
  const padded = Buffer.alloc(blocks * BLOCK);
  data.copy(padded);
  padded.writeUInt32BE(n, padded.length - 4);
  const cipher = createCipheriv('aes-256-ecb', keyBytes(key), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64');
}

/** The plaintext of a TeamTalk ciphertext, or undefined when it is not one. */
export function teamTalkDecrypt(base64: string, key: string): string | undefined {
  const data = Buffer.from(base64, 'base64');
  if (data.length === 0 || data.length % BLOCK !== 0) return undefined;
  const decipher = createDecipheriv('aes-256-ecb', keyBytes(key), null);
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(data), decipher.final()]);
  const n = plain.readUInt32BE(plain.length - 4);
  if (n > plain.length - 4) return undefined;
  return plain.subarray(0, n).toString('utf8');
}

/** "[语音]" ("[voice]"): what session and unread previews show for an audio message (flows.md §7.1). */
export const AUDIO_PREVIEW_TEXT = '[语音]';
