import type http from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { UploadError, type UploadErrorCode } from './answers';
import { acceptedType } from './content-types';
import { newFilePath } from './file-path';
import type { FileStore } from '@tiertalk/storage';
import { parseUploadName } from './upload-name';

export interface UploadOptions {
  store: FileStore;
  maxFileBytes: number;
  allowedTypes: ReadonlySet<string>;
}

export type UploadOutcome =
  | { code: 0; path: string; bytes: number }
  | { code: UploadErrorCode; detail: string }
  /** The client went away (or the connection broke) before the form was complete: nobody to answer. */
  | { code: 'aborted'; detail: string };

// Room for the multipart framing around the file (boundaries, part headers, small fields) when
// judging a declared Content-Length; the file's own size is counted exactly while it streams.
export const FORM_OVERHEAD_BYTES = 64 * 1024;

class UploadFailed extends Error {}

/**
 * Reads one TeamTalk upload: a multipart/form-data body whose first file part
 * (any field name; TeamTalk clients send "file0") is streamed to the store.
 * Resolves as soon as the outcome is known; the caller answers and discards
 * whatever of the request is left (http-server.ts).
 */
export function receiveUpload(req: http.IncomingMessage, opts: UploadOptions): Promise<UploadOutcome> {
  return new Promise<UploadOutcome>((resolve) => {
    let settled = false;
    // The file part being stored: failed when the upload fails, so the store discards it rather than waiting.
    let storing: { body: Transform; key: string; stored: Promise<boolean> } | undefined;
    const settle = (outcome: UploadOutcome): void => {
      if (settled) return;
      settled = true;
      const file = storing;
      if (outcome.code === 0 || file === undefined) return resolve(outcome);
      // Answered once the store has dropped what it had: a refused upload leaves nothing behind,
      // also when the form broke after its file was complete.
      file.body.destroy(new UploadFailed(outcome.detail));
      void file.stored
        .then((kept) => (kept ? opts.store.remove(file.key) : undefined))
        .catch(() => undefined)
        .then(() => resolve(outcome));
    };
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > opts.maxFileBytes + FORM_OVERHEAD_BYTES) return settle({ code: UploadError.TOO_LARGE, detail: `Content-Length ${declared}` });
    if (!/boundary=/i.test(req.headers['content-type'] ?? '')) return settle({ code: UploadError.NO_BOUNDARY, detail: 'no multipart boundary in Content-Type' });
    let form: busboy.Busboy;
    try {
      // One byte over the limit is let through so the count below sees it (busboy's own limit also fired on a file of exactly the limit).
      form = busboy({ headers: req.headers, limits: { fileSize: opts.maxFileBytes + 1, files: 1, fields: 32, fieldSize: 64 * 1024, parts: 64 } });
    } catch (err) {
      return settle({ code: UploadError.NO_BOUNDARY, detail: (err as Error).message });
    }

    let sawPart = false;
    let stored: { path: string; bytes: number } | undefined;
    let formClosed = false;
    let fileSeen = false;
    const finish = (): void => {
      if (stored && formClosed) settle({ code: 0, ...stored });
    };

    form.on('field', () => {
      sawPart = true;
    });
    form.on('file', (_field, file, info) => {
      sawPart = true;
      if (fileSeen || settled) {
        file.resume();
        return;
      }
      fileSeen = true;
      if (info.filename === undefined) {
        file.resume();
        return settle({ code: UploadError.NO_FILENAME, detail: 'file part without a filename' });
      }
      const name = parseUploadName(info.filename);
      if ('error' in name) {
        file.resume();
        return settle({ code: name.error, detail: `file name ${JSON.stringify(info.filename)}` });
      }
      const type = acceptedType(name.extension, info.mimeType, opts.allowedTypes);
      if (type === undefined) {
        file.resume();
        return settle({ code: UploadError.TYPE_NOT_ALLOWED, detail: `.${name.extension} declared as ${info.mimeType}` });
      }
      const target = newFilePath(name.extension, name.sizeHint);
      let bytes = 0;
      const tooLarge = `file over ${opts.maxFileBytes} bytes`;
      // Counts what flows to the store; past the limit it fails, so the store keeps nothing.
      const body = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          if (bytes <= opts.maxFileBytes) return done(null, chunk);
          settle({ code: UploadError.TOO_LARGE, detail: tooLarge });
          done(new UploadFailed(tooLarge));
        },
      });
      file.once('limit', () => settle({ code: UploadError.TOO_LARGE, detail: tooLarge }));
      pipeline(file, body).catch(() => undefined);
      const put = opts.store.put(target.key, body as Readable, type);
      storing = { body, key: target.key, stored: put.then(() => true, () => false) };
      put.then(
        () => {
          stored = { path: target.path, bytes };
          finish();
        },
        (err: unknown) => {
          if (settled) return;
          settle({ code: UploadError.STORAGE_FAILED, detail: err instanceof Error ? err.message : String(err) });
        },
      );
    });
    form.on('error', (err: Error) => {
      const code = /unexpected end/i.test(err.message) ? UploadError.NO_CLOSING_BOUNDARY : /header/i.test(err.message) ? UploadError.PART_HEADER_INCOMPLETE : UploadError.BOUNDARY_NOT_FOUND;
      settle({ code, detail: err.message });
    });
    form.on('close', () => {
      formClosed = true;
      if (!fileSeen) settle({ code: sawPart ? UploadError.NO_FILENAME : UploadError.NO_CONTENT_DISPOSITION, detail: 'no file part' });
      else finish();
    });
    req.on('close', () => {
      if (!req.complete) settle({ code: 'aborted', detail: 'connection closed before the form was complete' });
    });
    req.pipe(form);
  });
}
