import { UploadError, type UploadErrorCode } from './answers';

/** What TeamTalk keeps of an uploaded file's name: its extension and an optional `_<width>x<height>` hint. */
export interface UploadName {
  /** Lower-cased, without the dot. */
  extension: string;
  /** `_200x300` when the name ended in `_200x300.<ext>` (clients pass an image's size this way); '' otherwise. */
  sizeHint: string;
}

// HttpConn.cpp: names up to 255 bytes, extensions (after the last dot) up to 15.
const MAX_NAME_BYTES = 255;
const MAX_EXTENSION_LENGTH = 15;
const SIZE_HINT = /_(\d{1,4})x(\d{1,4})$/;

/** TeamTalk's checks on the filename of the multipart part, with its error codes (9, 10, 11). */
export function parseUploadName(filename: string): UploadName | { error: UploadErrorCode } {
  if (Buffer.byteLength(filename, 'utf8') > MAX_NAME_BYTES) return { error: UploadError.FILENAME_TOO_LONG };
  const dot = filename.lastIndexOf('.');
  if (dot < 0) return { error: UploadError.NO_EXTENSION };
  const extension = filename.slice(dot + 1);
  if (extension.length > MAX_EXTENSION_LENGTH) return { error: UploadError.EXTENSION_TOO_LONG };
  // Only what can be part of a stored path (file-path.ts); anything else cannot name an allowed type either.
  if (!/^[A-Za-z0-9]+$/.test(extension)) return { error: UploadError.TYPE_NOT_ALLOWED };
  const hint = SIZE_HINT.exec(filename.slice(0, dot));
  // Numbers are rewritten as TeamTalk did (atoi): "_0200x0300" becomes "_200x300".
  const sizeHint = hint ? `_${Number(hint[1])}x${Number(hint[2])}` : '';
  return { extension: extension.toLowerCase(), sizeHint };
}
