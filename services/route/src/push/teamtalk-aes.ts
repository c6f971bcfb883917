import { createCipheriv, createDecipheriv } from 'node:crypto';

// TeamTalk clients encrypt text messages with one shared key (msg server
// config `aesKey`): plaintext zero-padded to 16-byte blocks, the plaintext
// length as a big-endian u32 in the last 4 bytes (an extra block when it
// does not fit), AES-256-ECB, then base64. msg_data carries that base64 text.
const BLOCK = 16;
const LENGTH_BYTES = 4;
export const AES_KEY_BYTES = 32;

/** Decrypts a text message body for the push banner; undefined when it is not TeamTalk ciphertext. */
export function decryptTeamTalkText(key: Buffer, msgData: Uint8Array): string | undefined {
  const sealed = Buffer.from(Buffer.from(msgData).toString('latin1'), 'base64');
  if (sealed.length === 0 || sealed.length % BLOCK !== 0) return undefined;
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-ecb', key, null);
    decipher.setAutoPadding(false);
    plain = Buffer.concat([decipher.update(sealed), decipher.final()]);
  } catch {
    return undefined;
  }
  const length = plain.readUInt32BE(plain.length - LENGTH_BYTES);
  if (length > plain.length - LENGTH_BYTES) return undefined;
  return plain.subarray(0, length).toString('utf8');
}

/** The client side of the same scheme (tests, tools). */
export function encryptTeamTalkText(key: Buffer, text: string): Buffer {
  const plain = Buffer.from(text, 'utf8');
  let blocks = Math.ceil(plain.length / BLOCK);
  const remainder = plain.length % BLOCK;
  if (remainder === 0 || remainder > BLOCK - LENGTH_BYTES) blocks += 1;
  const padded = Buffer.alloc(blocks * BLOCK);
  plain.copy(padded);
  padded.writeUInt32BE(plain.length, padded.length - LENGTH_BYTES);
  const cipher = createCipheriv('aes-256-ecb', key, null);
  cipher.setAutoPadding(false);
  return Buffer.from(Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64'), 'latin1');
}
