// What a message's msg_data means to a person (docs/PROTOCOL.md §5, docs/WEB-CLIENT.md):
// text in TeamTalk's content "encryption" (base64 of AES-256-ECB with TeamTalk's
// padding) or plain UTF-8, with images embedded as msfs URLs between TeamTalk's
// markers; voice messages as a duration. The same format as
// libs/proto/src/content-cipher.ts, on @noble/ciphers because browsers' WebCrypto has no ECB.
import { ecb } from '@noble/ciphers/aes';

export const TEAMTALK_DEFAULT_AES_KEY = '12345678901234567890123456789012';
/** TeamTalk clients' image markers (IMAGE_MSG_START / IMAGE_MSG_END in TeamTalk's Android and PC clients). */
export const IMAGE_START = '&$#@~^@[{:';
export const IMAGE_END = ':}]&$~@#@';

const BLOCK = 16;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');
const encoder = new TextEncoder();

function keyBytes(key: string): Uint8Array {
  const k = Uint8Array.from(key, (c) => c.charCodeAt(0) & 0xff);
  if (k.length !== 32) throw new RangeError(`the AES key must be 32 bytes (AES-256), got ${k.length}`);
  return k;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return s;
}

/** base64(AES-256-ECB(text + TeamTalk padding)) as ASCII bytes: what TeamTalk clients put in msg_data. */
export function encryptContent(text: string, key = TEAMTALK_DEFAULT_AES_KEY): Uint8Array {
  const plain = encoder.encode(text);
  const remainder = plain.length % BLOCK;
  let blocks = Math.ceil(plain.length / BLOCK);
  if (remainder === 0 || remainder > BLOCK - 4) blocks += 1;
  const padded = new Uint8Array(blocks * BLOCK);
  padded.set(plain, 0);
  new DataView(padded.buffer).setUint32(padded.length - 4, plain.length);
  const encrypted = ecb(keyBytes(key), { disablePadding: true }).encrypt(padded);
  return encoder.encode(btoa(latin1(encrypted)));
}

/** The text inside TeamTalk-encrypted content; undefined when the content is not that. */
export function decryptContent(content: Uint8Array, key = TEAMTALK_DEFAULT_AES_KEY): string | undefined {
  if (content.length === 0 || content.length % 4 !== 0) return undefined;
  const b64 = latin1(content);
  if (!BASE64_RE.test(b64)) return undefined;
  const encrypted = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  if (encrypted.length === 0 || encrypted.length % BLOCK !== 0) return undefined;
  const plain = ecb(keyBytes(key), { disablePadding: true }).decrypt(encrypted);
  const length = new DataView(plain.buffer, plain.byteOffset, plain.byteLength).getUint32(plain.length - 4);
  if (length > plain.length - 4) return undefined;
  try {
    return strictUtf8.decode(plain.subarray(0, length));
  } catch {
    return undefined;
  }
}

export type ContentPart = { kind: 'text'; text: string } | { kind: 'image'; url: string };

/**
 * Text and images in the order a TeamTalk client shows them. An image's URL may be
 * absolute (what TeamTalk clients send: msfs base + path) or an msfs path, resolved against `msfsUrl`.
 */
export function splitImages(text: string, msfsUrl?: string): ContentPart[] {
  const parts: ContentPart[] = [];
  let rest = text;
  for (;;) {
    const start = rest.indexOf(IMAGE_START);
    const end = start < 0 ? -1 : rest.indexOf(IMAGE_END, start + IMAGE_START.length);
    if (start < 0 || end < 0) break;
    if (start > 0) parts.push({ kind: 'text', text: rest.slice(0, start) });
    const url = imageUrl(rest.slice(start + IMAGE_START.length, end), msfsUrl);
    // Anything but http(s) (javascript:, data:) is shown as the text it is.
    parts.push(url ? { kind: 'image', url } : { kind: 'text', text: rest.slice(start, end + IMAGE_END.length) });
    rest = rest.slice(end + IMAGE_END.length);
  }
  if (rest !== '') parts.push({ kind: 'text', text: rest });
  return parts;
}

function imageUrl(raw: string, msfsUrl: string | undefined): string | undefined {
  try {
    const url = /^https?:\/\//i.test(raw) || msfsUrl === undefined ? new URL(raw) : new URL(raw.replace(/^\/+/, ''), msfsUrl.endsWith('/') ? msfsUrl : `${msfsUrl}/`);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** A message's parts: voice as a note, text decrypted when it is TeamTalk-encrypted, images split out. */
export function messageParts(data: Uint8Array, isAudio: boolean, opts: { aesKey?: string; msfsUrl?: string } = {}): ContentPart[] {
  if (isAudio) {
    const seconds = data.length >= 4 ? new DataView(data.buffer, data.byteOffset, 4).getUint32(0) : 0;
    return [{ kind: 'text', text: `[voice message, ${seconds} s]` }];
  }
  const text = decryptContent(data, opts.aesKey) ?? lenientUtf8.decode(data);
  return splitImages(text, opts.msfsUrl);
}

/** The content of an image message as TeamTalk clients send it (before encryption). */
export function imageContent(url: string): string {
  return `${IMAGE_START}${url}${IMAGE_END}`;
}
