// JSON over node:http for the cluster's HTTP APIs (admin, http-api): one answer
// shape, one body reader with a size limit.
import type http from 'node:http';
import { OpsError } from './errors';

export function sendJson(res: http.ServerResponse, status: number, payload: unknown): void {
  const text = `${JSON.stringify(payload)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** The body as JSON (an empty body is `undefined`); 413 beyond the limit, 400 when it is not JSON. */
export async function readJson(req: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new OpsError('payload_too_large', `the body is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new OpsError('bad_request', 'the body must be JSON (Content-Type: application/json)');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new OpsError('bad_request', 'the body is not valid JSON');
  }
}
