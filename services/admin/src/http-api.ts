// The admin HTTP API: the CLI's operations (operations.ts) over JSON, behind
// a bearer token (TT_ADMIN_TOKEN). Every answer is JSON; errors are
// {"error":{"code","message"}} with the catalogue's status (errors.ts).
import http from 'node:http';
import type { Logger } from '@tiertalk/log';
import { BearerToken } from './bearer-token';
import type { AdminLink } from './cluster-link';
import { AdminError, toAdminError } from './errors';
import { observeRequest } from './http-metrics';
import { resolveRoute } from './http-routes';
import { runCommand } from './operations';

export interface AdminHttpOptions {
  token: string;
  maxBodyBytes: number;
  link: AdminLink;
  log: Logger;
}

function send(res: http.ServerResponse, status: number, payload: unknown): void {
  const text = `${JSON.stringify(payload)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** The body as JSON (an empty body is `undefined`); 413 beyond the limit, 400 when it is not JSON. */
async function readJson(req: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new AdminError('payload_too_large', `the body is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new AdminError('bad_request', 'the body must be JSON (Content-Type: application/json)');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AdminError('bad_request', 'the body is not valid JSON');
  }
}

export function createAdminHttpServer(opts: AdminHttpOptions): http.Server {
  const token = new BearerToken(opts.token);
  const log = opts.log.child({ component: 'http-api' });
  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const handle = async (): Promise<{ status: number; payload: unknown }> => {
      if (!token.accepts(req.headers.authorization)) {
        res.setHeader('www-authenticate', 'Bearer realm="tiertalk-admin"');
        throw new AdminError('unauthorized', 'missing or wrong bearer token (Authorization: Bearer <TT_ADMIN_TOKEN>)');
      }
      const { route, params } = resolveRoute(method, url.pathname);
      const body = await readJson(req, opts.maxBodyBytes);
      const command = route.build({ params, query: url.searchParams, body });
      const out = await runCommand(opts.link, command);
      return { status: route.created ? 201 : 200, payload: out.json };
    };
    handle()
      .catch((err: unknown) => {
        const e = toAdminError(err);
        if (e.code === 'internal' || e.code === 'unavailable') log.error({ err, method, path: url.pathname }, 'admin request failed');
        return { status: e.httpStatus, payload: { error: { code: e.code, message: e.message } } };
      })
      .then(({ status, payload }) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        observeRequest(method, url.pathname, status, seconds);
        // Method, path and outcome only: bodies may hold passwords.
        log.info({ method, path: url.pathname, status, ms: Math.round(seconds * 1000) }, 'admin request');
        // A request refused before its body was read: drain it, so the connection stays usable.
        req.resume();
        // Stopping (server.close() called): no keep-alive, or this connection would hold up the close until it times out.
        if (!server.listening) res.setHeader('connection', 'close');
        send(res, status, payload);
      })
      .catch((err: unknown) => log.error({ err }, 'answering an admin request failed'));
  });
  return server;
}
