// The web client's own port (docs/WEB-CLIENT.md): the page under /web/ and the
// same /msg_server answer as the TeamTalk port, so the page asks its own origin
// which gateway to use. A port of its own because TeamTalk's port keeps TeamTalk's
// 1 KiB request limit, which a browser's headers can exceed.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { gracefulClose, listen } from '@tiertalk/lifecycle';
import type { Logger } from '@tiertalk/log';
import { Counter, metricsRegistry } from '@tiertalk/metrics';
import type { ServerCertificate } from '@tiertalk/tls';
import type { GatewayPick } from './gateway-picker';
import { responseBody, type HttpServerOptions } from './http-server';
import { countMsgServerAnswer } from './msg-server-metrics';
import type { WebFile } from './web-files';

const requests = new Counter({
  name: 'tt_login_web_requests_total',
  help: 'Requests on the web client port by result: file (a web client file served), msg_server (a gateway answer), redirect (/ to /web/), not_found, bad_method',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
});
for (const result of ['file', 'msg_server', 'redirect', 'not_found', 'bad_method']) requests.inc({ result }, 0);

export interface WebServerOptions extends Pick<HttpServerOptions, 'msfs' | 'discoveryUrl'> {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  files: ReadonlyMap<string, WebFile>;
  pick: () => GatewayPick;
  logger: Logger;
  /** Serve HTTPS (the page then connects with wss://). */
  tls?: { certificate: ServerCertificate; handshakeTimeoutMs: number };
}

export interface WebServer {
  readonly address: AddressInfo;
  close(graceMs?: number): Promise<void>;
}

const WEB_PREFIX = '/web/';

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const log = opts.logger.child({ component: 'web' });
  const tls = opts.tls;
  const server = tls ? https.createServer({ ...tls.certificate.serverOptions(), handshakeTimeout: tls.handshakeTimeoutMs }) : http.createServer();
  if (tls) tls.certificate.attach(server as https.Server);
  server.on('request', (req, res) => handle(req, res, opts));
  const address = await listen(server, opts.port, opts.host, 'web server');
  log.info({ host: address.address, port: address.port, https: tls !== undefined, files: opts.files.size }, 'web client listening');
  return {
    address,
    close: gracefulClose(server, tls ? () => tls.certificate.detach(server as https.Server) : undefined),
  };
}

function handle(req: http.IncomingMessage, res: http.ServerResponse, opts: WebServerOptions): void {
  const pathname = new URL(req.url ?? '/', 'http://web').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    requests.inc({ result: 'bad_method' });
    send(res, req, 405, 'text/plain; charset=utf-8', Buffer.from('only GET and HEAD\n'), { Allow: 'GET, HEAD' });
    return;
  }
  if (pathname === '/' || pathname === '/web') {
    requests.inc({ result: 'redirect' });
    res.writeHead(302, { Location: WEB_PREFIX, 'Content-Length': 0 });
    res.end();
    return;
  }
  if (pathname === '/msg_server') {
    const pick = opts.pick();
    countMsgServerAnswer(pick.code);
    requests.inc({ result: 'msg_server' });
    const body = Buffer.from(JSON.stringify(responseBody(pick, req.socket.remoteAddress ?? '', opts, true)), 'utf8');
    send(res, req, 200, 'application/json; charset=utf-8', body, { 'Cache-Control': 'no-store' });
    return;
  }
  const name = pathname === WEB_PREFIX ? 'index.html' : pathname.startsWith(WEB_PREFIX) ? pathname.slice(WEB_PREFIX.length) : undefined;
  const file = name === undefined ? undefined : opts.files.get(name);
  if (!file) {
    requests.inc({ result: 'not_found' });
    send(res, req, 404, 'text/plain; charset=utf-8', Buffer.from(`${pathname} not found\n`));
    return;
  }
  requests.inc({ result: 'file' });
  // Rebuilt files keep their names: the browser asks again each time (cheap: a few files).
  send(res, req, 200, file.contentType, file.body, { 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
}

function send(res: http.ServerResponse, req: http.IncomingMessage, status: number, contentType: string, body: Buffer, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': body.length, ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}
