// Uploads a picture to msfs the way TeamTalk clients do (docs/MSFS.md "Upload"): a multipart
// POST to the msfs URL from login's /msg_server, one part "file0" with the file's name,
// declared application/octet-stream; the JSON answer carries the URL to put in the message.
// XMLHttpRequest rather than fetch: only it reports upload progress.
import { UploadError, readAnswer, uploadName } from './msfs-answer';

/** POSTs the file to msfs; progress gets the fraction sent (0..1). Resolves with the picture's URL. */
export function uploadToMsfs(msfsUrl: string, file: File, progress: (sent: number) => void): Promise<string> {
  const form = new FormData();
  // Declared as TeamTalk clients declare it; msfs judges the type by the name's extension.
  form.append('file0', new Blob([file], { type: 'application/octet-stream' }), uploadName(file));
  return new Promise<string>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', msfsUrl);
    xhr.upload.addEventListener('progress', (ev) => {
      if (ev.lengthComputable && ev.total > 0) progress(ev.loaded / ev.total);
    });
    xhr.addEventListener('load', () => {
      try {
        resolve(readAnswer(xhr.status, xhr.responseText, xhr.getResponseHeader('Retry-After')));
      } catch (err) {
        reject(err);
      }
    });
    // No readable answer: msfs down, a file so large that msfs cut the connection, or an answer without CORS headers for this page.
    xhr.addEventListener('error', () =>
      reject(new UploadError(`Upload failed: no answer from the file store at ${msfsUrl} (it may be down, the file far too large, or its TT_MSFS_CORS_ORIGINS may not list ${location.origin})`, 0)),
    );
    xhr.addEventListener('abort', () => reject(new UploadError('Upload cancelled', 0)));
    xhr.send(form);
  });
}
