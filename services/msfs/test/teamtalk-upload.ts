// Uploads and downloads exactly as TeamTalk clients do (android MoGuHttpClient.uploadImage3):
// POST to the msfs URL, multipart/form-data with boundary "---------7d4a6d158c9", one part named
// "file0" with the file's name, declared application/octet-stream.
import http from 'node:http';

export const TEAMTALK_BOUNDARY = '---------7d4a6d158c9';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** The multipart body a TeamTalk client sends for one file. */
export function teamtalkForm(filename: string, bytes: Buffer, partType = 'application/octet-stream'): Buffer {
  const head = `--${TEAMTALK_BOUNDARY}\r\nContent-Disposition: form-data;name="file0";filename="${filename}"\r\nContent-Type:${partType}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), bytes, Buffer.from(`\r\n--${TEAMTALK_BOUNDARY}--\r\n`)]);
}

export interface SendOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  /** Sent with Transfer-Encoding: chunked in pieces of this size instead of with a Content-Length. */
  chunkBytes?: number;
}

/** One HTTP request; the answer is read in full. A write error after the answer came (server closed early) is ignored. */
export function send(url: string, body: Buffer | undefined, opts: SendOptions = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { ...opts.headers };
    if (body !== undefined && opts.chunkBytes === undefined) headers['Content-Length'] = body.length;
    const req = http.request(url, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, agent: false });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (body === undefined) return void req.end();
    if (opts.chunkBytes === undefined) return void req.end(body);
    const step = opts.chunkBytes;
    let offset = 0;
    const pump = (): void => {
      while (offset < body.length && !answered) {
        const more = req.write(body.subarray(offset, offset + step));
        offset += step;
        if (!more) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** A TeamTalk client's upload of one file to an msfs URL (e.g. login's msfsPrior). */
export function teamtalkUpload(msfsUrl: string, filename: string, bytes: Buffer, opts: SendOptions & { partType?: string } = {}): Promise<HttpAnswer> {
  return send(msfsUrl, teamtalkForm(filename, bytes, opts.partType), {
    ...opts,
    headers: { 'Content-Type': `multipart/form-data; boundary=${TEAMTALK_BOUNDARY}`, ...opts.headers },
  });
}
