// Local stand-ins for APNs (HTTP/2 over TLS with a dev PKI certificate), the
// FCM API and its OAuth token endpoint, a Web Push endpoint and a webhook.
// They record every request as it arrived, so tests check what a provider
// would receive; each answers with the status the test queues (200 otherwise).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { DevPki } from '@tiertalk/tls';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface Answer {
  status: number;
  body?: unknown;
}

/** Records requests; answers the next queued answer, or `fallback`. */
class Recorder {
  readonly requests: RecordedRequest[] = [];
  private answers: Answer[] = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(private readonly fallback: (req: RecordedRequest) => Answer) {}

  answerNext(...answers: Answer[]): void {
    this.answers.push(...answers);
  }

  /** Resolves once `count` requests arrived in all. */
  received(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  record(req: RecordedRequest): Answer {
    this.requests.push(req);
    const answer = this.answers.shift() ?? this.fallback(req);
    for (const w of this.waiters.filter((x) => this.requests.length >= x.count)) w.resolve();
    this.waiters = this.waiters.filter((x) => this.requests.length < x.count);
    return answer;
  }
}

function headersOf(raw: http.IncomingHttpHeaders | http2.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined && !k.startsWith(':')) out[k] = Array.isArray(v) ? v.join(',') : String(v);
  return out;
}

/** APNs stand-in: HTTP/2 over TLS with `pki`'s `apns` certificate. */
export class FakeApns extends Recorder {
  private server!: http2.Http2SecureServer;
  url = '';

  static async start(pki: DevPki): Promise<FakeApns> {
    const fake = new FakeApns(() => ({ status: 200 }));
    const { cert, key } = pki.certFor('apns');
    fake.server = http2.createSecureServer({ cert: readFileSync(cert), key: readFileSync(key) });
    fake.server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const answer = fake.record({ method: String(headers[':method']), path: String(headers[':path']), headers: headersOf(headers), body: Buffer.concat(chunks) });
        stream.respond({ ':status': answer.status, 'apns-id': 'fake' });
        stream.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `https://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** An HTTP/1.1 stand-in (FCM API and token endpoint, Web Push endpoint, webhook); HTTPS with `tls`'s certificate. */
export class FakeHttp extends Recorder {
  private server!: http.Server;
  url = '';

  static async start(fallback: (req: RecordedRequest) => Answer = () => ({ status: 200 }), tls?: { pki: DevPki; name: string }): Promise<FakeHttp> {
    const fake = new FakeHttp(fallback);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = fake.record({ method: req.method ?? '', path: req.url ?? '', headers: headersOf(req.headers), body: Buffer.concat(chunks) });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      });
    };
    if (tls) {
      const { cert, key } = tls.pki.certFor(tls.name);
      fake.server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, handler);
    } else {
      fake.server = http.createServer(handler);
    }
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `${tls ? 'https' : 'http'}://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
