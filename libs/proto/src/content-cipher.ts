// TeamTalk's message-content "encryption" (docs/PROTOCOL.md §5): TeamTalk clients
// put base64(AES-256-ECB(text + TeamTalk padding)) in msg_data with a key
// shared by every client and server. TierTalk relays content as-is; the SDK
// only needs this to show what real TeamTalk clients send (and to send like
// them when asked). Obfuscation, not security.
import { createCipheriv, createDecipheriv } from 'node:crypto';

/** The `aesKey` of every shipped TeamTalk .conf (docs/PROTOCOL.md §5). */
export const TEAMTALK_DEFAULT_AES_KEY = '12345678901234567890123456789012';

const BLOCK = 16;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function keyBytes(key: string): Buffer {
  const k = Buffer.from(key, 'latin1');
  if (k.length !== 32) throw new RangeError(`the AES key must be 32 bytes (AES-256), got ${k.length}`);
  return k;
}

/**
 * TeamTalk padding: zeros up to a whole number of blocks with room for a
 * big-endian uint32 of the plain length in the last 4 bytes (one more block
 * when the remainder is 0 or above 12).
 */
export function padTeamTalk(plain: Uint8Array): Buffer {
  const remainder = plain.length % BLOCK;
  let blocks = Math.ceil(plain.length / BLOCK);
  if (remainder === 0 || remainder > BLOCK - 4) blocks += 1;
  const out = Buffer.alloc(blocks * BLOCK);
  out.set(plain, 0);
  out.writeUInt32BE(plain.length, out.length - 4);
  return out;
}

/** base64 of the AES-256-ECB ciphertext, as TeamTalk clients put it in msg_data. */
export function encryptContent(text: string | Uint8Array, key = TEAMTALK_DEFAULT_AES_KEY): Buffer {
  const plain = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const cipher = createCipheriv('aes-256-ecb', keyBytes(key), null);
  cipher.setAutoPadding(false);
  const encrypted = Buffer.concat([cipher.update(padTeamTalk(plain)), cipher.final()]);
  return Buffer.from(encrypted.toString('base64'), 'latin1');
}

/**
 * The text inside TeamTalk-encrypted content, or undefined when the content is
 * not that (not base64, not whole blocks, a length that does not fit, or not
 * UTF-8 once decrypted): such content is shown as it is.
 */
export function decryptContent(content: Uint8Array, key = TEAMTALK_DEFAULT_AES_KEY): string | undefined {
  if (content.length === 0 || content.length % 4 !== 0) return undefined;
  const b64 = Buffer.from(content).toString('latin1');
  if (!BASE64_RE.test(b64)) return undefined;
  const encrypted = Buffer.from(b64, 'base64');
  if (encrypted.length === 0 || encrypted.length % BLOCK !== 0) return undefined;
  const decipher = createDecipheriv('aes-256-ecb', keyBytes(key), null);
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(encrypted), decipher.final()]);
  const length = plain.readUInt32BE(plain.length - 4);
  if (length > plain.length - 4) return undefined;
  try {
    return strictUtf8.decode(plain.subarray(0, length));
  } catch (err) {
    if (err instanceof TypeError) return undefined;
    throw err;
  }
}
