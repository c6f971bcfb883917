// The admin HTTP API: the CLI's operations (operations.ts) over JSON, behind
// a bearer token (TT_ADMIN_TOKEN). Every answer is JSON; errors are
// {"error":{"code","message"}} with the catalogue's status (errors.ts).
import http from 'node:http';
import type { Logger } from '@tiertalk/log';
import { BearerToken, OpsError, type OpsLink, readJson, sendJson as send, toOpsError } from '@tiertalk/cluster-ops';
import { observeRequest } from './http-metrics';
import { resolveRoute } from './http-routes';
import { runCommand } from './operations';

export interface AdminHttpOptions {
  token: string;
  maxBodyBytes: number;
  link: OpsLink;
  log: Logger;
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
        throw new OpsError('unauthorized', 'missing or wrong bearer token (Authorization: Bearer <TT_ADMIN_TOKEN>)');
      }
      const { route, params } = resolveRoute(method, url.pathname);
      const body = await readJson(req, opts.maxBodyBytes);
      const command = route.build({ params, query: url.searchParams, body });
      const out = await runCommand(opts.link, command);
      return { status: route.created ? 201 : 200, payload: out.json };
    };
    handle()
      .catch((err: unknown) => {
        const e = toOpsError(err);
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
