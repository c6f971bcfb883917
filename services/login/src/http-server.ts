import http from 'node:http';
import https from 'node:https';
import { AddressInfo, Socket, isIPv4 } from 'node:net';
import { performance } from 'node:perf_hooks';
import { gracefulClose, listen } from '@tiertalk/lifecycle';
import type { Logger } from '@tiertalk/log';
import { newRequestId } from '@tiertalk/log';
import { RefusalLog, handleMetricsRequest, type HttpRoute } from '@tiertalk/metrics';
import type { ServerCertificate } from '@tiertalk/tls';
import { GatewayPick, PICK_FULL, PICK_NONE, PICK_OK } from './gateway-picker';
import type { MsfsUrls } from './msfs-picker';
import { countMsgServerAnswer } from './msg-server-metrics';

// TeamTalk login_server HttpConn: the whole request must fit in 1 KiB, and a
// connection without input for 60 s is closed (HTTP_CONN_TIMEOUT).
export const MAX_REQUEST_BYTES = 1024;
export const IDLE_TIMEOUT_MS = 60_000;
const MSG_SERVER_PATH = '/msg_server';
// TeamTalk's texts, kept byte for byte: clients may show them.
const NO_MSG_SERVER_TEXT = '没有msg_server';
const ALL_FULL_TEXT = '负载过高';

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Chooses the gateway for one /msg_server answer (main: GatewayBalancer over the live `msg` instances). */
  pick: () => GatewayPick;
  /** msfsPrior / msfsBackup for one answer (main: TT_MSFS_URL, else live msfs instances from etcd). */
  msfs: () => MsfsUrls;
  discoveryUrl: string;
  logger: Logger;
  idleTimeoutMs?: number;
  /** Answer Prometheus at GET /metrics on this port (when the service has no TT_METRICS_PORT of its own). */
  serveMetrics?: boolean;
  /** Answers GET /healthz and /readyz (libs/health probeRoutes) on this port. */
  probes?: HttpRoute;
  /** Serve HTTPS with this certificate (reloads apply to new connections). */
  tls?: { certificate: ServerCertificate; handshakeTimeoutMs: number };
}

export interface LoginHttpServer {
  readonly address: AddressInfo;
  /** Stops accepting, lets in-flight requests finish for up to graceMs, then drops what is left. */
  close(graceMs?: number): Promise<void>;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<LoginHttpServer> {
  const log = opts.logger.child({ component: 'http' });
  const idleTimeoutMs = opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  const httpOptions: http.ServerOptions = {
    // llhttp refuses oversized headers before buffering them; the body is counted below.
    maxHeaderSize: MAX_REQUEST_BYTES,
    // TeamTalk never looked at Host; a client that omits it must still get an answer.
    requireHostHeader: false,
  };
  const tls = opts.tls;
  const server = tls
    ? https.createServer({ ...httpOptions, ...tls.certificate.serverOptions(), handshakeTimeout: tls.handshakeTimeoutMs })
    : http.createServer(httpOptions);
  if (tls) {
    tls.certificate.attach(server as https.Server);
    // Counted, logged once per address and interval. With this listener Node leaves a
    // timed-out handshake's socket open: destroy it here.
    const refusals = new RefusalLog(log);
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      const reason = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'tls_handshake_timeout' : 'tls_handshake_failed';
      refusals.refuse(reason, socket.remoteAddress ?? '?', { listener: 'HTTPS', error: err.code ?? err.message });
      socket.destroy();
    });
  }
  server.setTimeout(idleTimeoutMs, (socket) => {
    log.info({ remote: socket.remoteAddress }, 'idle connection closed');
    socket.destroy();
  });
  // Counted, and logged once per address per interval: a flood of bad requests is not a flood of log lines.
  const refusals = new RefusalLog(log);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed or oversized head: TeamTalk just closes, so no 400/431 is written.
    refusals.refuse('http_bad_request', String(socket instanceof Socket ? socket.remoteAddress : undefined), { reqId: newRequestId(), err: err.code ?? err.message });
    socket.destroy();
  });
  server.on('request', (req, res) => handleRequest(req, res, opts, log, refusals));

  const address = await listen(server, opts.port, opts.host, 'http server');
  log.info({ host: address.address, port: address.port, https: tls !== undefined }, 'http listening');

  return {
    address,
    close: gracefulClose(server, tls ? () => tls.certificate.detach(server as https.Server) : undefined),
  };
}

function handleRequest(req: http.IncomingMessage, res: http.ServerResponse, opts: HttpServerOptions, log: Logger, refusals: RefusalLog): void {
  const started = performance.now();
  const socket = req.socket;
  const fields = { reqId: newRequestId(), method: req.method, url: req.url, remote: socket.remoteAddress };
  let finished = false;
  const drop = (reason: 'unknown_path' | 'request_too_large' | 'read_error', detail?: string): void => {
    if (finished) return;
    finished = true;
    refusals.refuse(`http_${reason}`, String(fields.remote), { ...fields, detail, bytes: socket.bytesRead, ms: elapsed(started) });
    socket.destroy();
  };

  if (opts.probes?.(req, res)) {
    finished = true;
    return;
  }
  if (opts.serveMetrics && (req.url ?? '').split('?')[0] === '/metrics') {
    finished = true;
    void handleMetricsRequest(req, res);
    return;
  }
  // TeamTalk compares the raw request target's prefix, query string and all.
  if (!(req.url ?? '').startsWith(MSG_SERVER_PATH)) return drop('unknown_path');
  // One request per connection (we always answer Connection: close), so the socket's byte count is the request size
  // (a TLS socket counts plaintext bytes, not records).
  const declared = Number(req.headers['content-length'] ?? 0);
  if (socket.bytesRead > MAX_REQUEST_BYTES || declared > MAX_REQUEST_BYTES) return drop('request_too_large');
  req.on('data', () => {
    if (socket.bytesRead > MAX_REQUEST_BYTES) drop('request_too_large');
  });
  req.on('error', (err) => drop('read_error', err.message));
  // TeamTalk answers once the whole request (POST body included) is read; the body itself is ignored.
  req.on('end', () => {
    if (finished) return;
    finished = true;
    const pick = opts.pick();
    countMsgServerAnswer(pick.code);
    const body = Buffer.from(JSON.stringify(responseBody(pick, socket.remoteAddress ?? '', opts)), 'utf8');
    res.sendDate = false;
    res.writeHead(200, 'OK', {
      Connection: 'close',
      'Content-Length': body.length,
      'Content-Type': 'text/html;charset=utf-8',
    });
    res.end(body);
    log.info(
      {
        ...fields,
        code: pick.code,
        gateway: pick.code === PICK_OK ? pick.gateway.id : undefined,
        // A gateway publishing unusable meta is never chosen; say so where someone will look.
        skipped: pick.invalid.length > 0 ? pick.invalid : undefined,
        ms: elapsed(started),
      },
      'msg_server request',
    );
  });
}

type MsgServerBody =
  | { code: 0; msg: ''; priorIP: string; backupIP: string; port: string; msfsPrior: string; msfsBackup: string; discovery: string; tlsPort?: string; wsPort?: string; wss?: string }
  | { code: 1 | 2; msg: string };

/**
 * docs/FLOWS.md §1a step 3; `port` is a string as in TeamTalk (int2string). TierTalk
 * adds `tlsPort` (also a string) when the gateway has a TLS listener; TeamTalk
 * clients ignore fields they do not know. `wsPort` (the gateway's WebSocket port)
 * and `wss` ("1" when it speaks wss://) only in the web client's answer (web-server.ts), so TeamTalk's port answers as before. `port` is "0" for a TLS-only gateway.
 */
export function responseBody(pick: GatewayPick, peerAddress: string, opts: Pick<HttpServerOptions, 'msfs' | 'discoveryUrl'>, withWsPort = false): MsgServerBody {
  if (pick.code !== PICK_OK) {
    return pick.code === PICK_NONE ? { code: PICK_NONE, msg: NO_MSG_SERVER_TEXT } : { code: PICK_FULL, msg: ALL_FULL_TEXT };
  }
  const { gateway } = pick;
  // TeamTalk's telecom check accepts any IPv4 peer; everyone else gets ip2 first.
  const ipv4 = looksLikeIpv4(peerAddress);
  const msfs = opts.msfs();
  return {
    code: 0,
    msg: '',
    priorIP: ipv4 ? gateway.ip1 : gateway.ip2,
    backupIP: ipv4 ? gateway.ip2 : gateway.ip1,
    port: String(gateway.port),
    msfsPrior: msfs.prior,
    msfsBackup: msfs.backup,
    discovery: opts.discoveryUrl,
    ...(gateway.tlsPort !== undefined ? { tlsPort: String(gateway.tlsPort) } : {}),
    ...(withWsPort && gateway.wsPort !== undefined ? { wsPort: String(gateway.wsPort), ...(gateway.wss ? { wss: '1' } : {}) } : {}),
  };
}

/** An IPv4 peer, also when a dual-stack socket reports it as ::ffff:a.b.c.d (TeamTalk listened on IPv4 only). */
export function looksLikeIpv4(address: string): boolean {
  const mapped = /^::ffff:/i.test(address) ? address.slice(7) : address;
  return isIPv4(mapped);
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 100) / 100;
}
