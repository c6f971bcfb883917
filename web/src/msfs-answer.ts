// What the page makes of msfs (docs/MSFS.md): whether it can upload at all, the file part's
// name, and msfs's JSON answer to an upload, refusals in words with msfs's code and text.

/** msfs's error codes (docs/MSFS.md) as a person reads them; TeamTalk's own text follows in the message. */
const MESSAGES: Readonly<Record<number, string>> = {
  1: 'the file is too large for the file store',
  12: 'this type of file is not accepted (pictures: jpg, png, gif, bmp, webp)',
  13: 'too many uploads from this address',
  14: 'the file store could not keep the file',
};

/** A refused or failed upload; `code` is msfs's error_code (0 when msfs gave no answer). */
export class UploadError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

interface MsfsAnswer {
  error_code?: unknown;
  error_msg?: unknown;
  url?: unknown;
}

/** Why this page cannot reach msfs at all, before trying; undefined when it can. */
export function uploadBlocker(msfsUrl: string | undefined, pageIsHttps: boolean): string | undefined {
  if (msfsUrl === undefined) return 'no file store (msfs) is running: pictures cannot be sent';
  // A page served over https may not send to an http:// address (mixed content): the browser blocks it.
  if (pageIsHttps && msfsUrl.startsWith('http:')) return `the file store ${msfsUrl} is http:// and this page is https://: the browser blocks the upload (msfs needs an https address, docs/MSFS.md)`;
  return undefined;
}

/** The file part's name: msfs takes the extension from it, so a name without one gets its type's. */
export function uploadName(file: { name: string; type: string }): string {
  if (/\.[A-Za-z0-9]{1,15}$/.test(file.name)) return file.name;
  const ext = /^image\/(jpeg|png|gif|bmp|webp)$/.exec(file.type)?.[1];
  return `${file.name || 'image'}.${ext === 'jpeg' ? 'jpg' : (ext ?? 'bin')}`;
}

/** Turns msfs's answer into the picture's URL, or an UploadError with msfs's code and text. */
export function readAnswer(status: number, body: string, retryAfter: string | null): string {
  let answer: MsfsAnswer;
  try {
    answer = JSON.parse(body) as MsfsAnswer;
  } catch {
    throw new UploadError(`the file store answered HTTP ${status} without its JSON answer`, 0);
  }
  const code = typeof answer.error_code === 'number' ? answer.error_code : -1;
  if (code === 0 && typeof answer.url === 'string' && answer.url !== '') return answer.url;
  const what = MESSAGES[code] ?? 'the file store refused the upload';
  const wait = code === 13 && retryAfter !== null ? `; try again in ${retryAfter} s` : '';
  const text = typeof answer.error_msg === 'string' ? answer.error_msg : '';
  throw new UploadError(`Upload failed: ${what}${wait} (msfs error ${code}${text ? `: ${text}` : ''})`, code);
}

