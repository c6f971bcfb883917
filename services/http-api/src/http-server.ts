// The send API over HTTP (docs/HTTP-API.md): POST with a JSON body on
// TeamTalk's http_msg_server paths. Order per request: rate (429) → body
// (413/400) → token (401: `Authorization: Bearer <token>`, or TeamTalk's
// `app_key` field) → path (404/405) → fields (400) → the operation.
import http from 'node:http';
import { BearerToken, OpsError, readJson, sendJson, toOpsError, type OpsLink } from '@tiertalk/cluster-ops';
import type { StoreLink } from '@tiertalk/message-store';
import type { Logger } from '@tiertalk/log';
import { failure, ok, TEAMTALK_CODES, type Answer } from './answers';
import { observeRequest, zeroRoutes } from './api-metrics';
import { changeMembersBody, check, createGroupBody, sendMessageBody } from './bodies';
import { changeMembers, createGroup } from './groups';
import { ClientRate } from './rate-limit';
import { sendMessage } from './send-message';
import type { Users } from './users';

export interface HttpApiOptions {
  token: string;
  maxBodyBytes: number;
  ratePerSec: number;
  aesKey: string;
  link: OpsLink;
  store: StoreLink;
  users: Users;
  log: Logger;
}

interface Endpoint {
  /** TeamTalk's code for a refusal on this path. */
  refusedCode?: number;
  run(body: unknown, req: http.IncomingMessage): Promise<Answer>;
}

function headerKey(req: http.IncomingMessage): string | undefined {
  const v = req.headers['idempotency-key'];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function endpoints(opts: HttpApiOptions): Record<string, Endpoint> {
  const send = { link: opts.link, store: opts.store, users: opts.users, aesKey: opts.aesKey, log: opts.log };
  return {
    '/query/SendMessage': {
      run: async (body, req) => {
        const key = headerKey(req);
        if (key !== undefined && key.length > 256) throw new OpsError('bad_request', 'Idempotency-Key: at most 256 characters');
        return ok({ ...(await sendMessage(send, check(sendMessageBody, body), key)) });
      },
    },
    '/query/CreateGroup': { refusedCode: TEAMTALK_CODES.CREATE_GROUP, run: async (body) => ok(await createGroup(opts.link, opts.users, check(createGroupBody, body))) },
    '/query/ChangeMembers': { refusedCode: TEAMTALK_CODES.CHANGE_MEMBER, run: async (body) => ok(await changeMembers(opts.link, check(changeMembersBody, body))) },
  };
}

/** TeamTalk integrations put the key in the body's `app_key`; ours may use the header. */
function appKey(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('app_key' in body)) return undefined;
  return typeof body.app_key === 'string' ? body.app_key : undefined;
}

export function createHttpApiServer(opts: HttpApiOptions): http.Server {
  const token = new BearerToken(opts.token);
  const rate = new ClientRate(opts.ratePerSec);
  const routes = endpoints(opts);
  zeroRoutes(Object.keys(routes));
  const log = opts.log.child({ component: 'http-api' });
  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://http-api.invalid').pathname;
    const endpoint = Object.hasOwn(routes, path) ? routes[path] : undefined;
    const handle = async (): Promise<Answer> => {
      const client = req.socket.remoteAddress ?? 'unknown';
      const retryAfter = await rate.take(client);
      if (retryAfter !== undefined) {
        res.setHeader('retry-after', String(retryAfter));
        throw new OpsError('rate_limited', `more than ${opts.ratePerSec} requests per second from ${client} (TT_HTTP_API_RATE_PER_SEC); retry after ${retryAfter} s`);
      }
      const body = await readJson(req, opts.maxBodyBytes);
      const key = appKey(body);
      if (!token.accepts(req.headers.authorization) && !(key !== undefined && token.accepts(`Bearer ${key}`))) {
        res.setHeader('www-authenticate', 'Bearer realm="tiertalk-http-api"');
        throw new OpsError('unauthorized', 'missing or wrong token (Authorization: Bearer <TT_HTTP_API_TOKEN>, or the body field app_key)');
      }
      if (!endpoint) throw new OpsError('not_found', `no such endpoint: ${path}`);
      if (method !== 'POST') throw new OpsError('method_not_allowed', `${method} is not allowed on ${path}; use POST`);
      return endpoint.run(body, req);
    };
    handle()
      .catch((err: unknown) => {
        const e = toOpsError(err);
        if (e.code === 'internal' || e.code === 'unavailable') log.error({ err, path }, 'send API request failed');
        return failure(e, endpoint?.refusedCode, endpoint === undefined);
      })
      .then(({ status, payload }) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        observeRequest(endpoint ? path : 'unmatched', status, seconds);
        // Path and outcome only: bodies hold message text and the app_key.
        log.info({ method, path, status, ms: Math.round(seconds * 1000) }, 'send API request');
        // A request refused before its body was read: drain it, so the connection stays usable.
        req.resume();
        if (!server.listening) res.setHeader('connection', 'close');
        sendJson(res, status, payload);
      })
      .catch((err: unknown) => log.error({ err }, 'answering a send API request failed'));
  });
  return server;
}
