import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { gracefulClose, listen } from '@tiertalk/lifecycle';
import type { Logger } from '@tiertalk/log';
import { newRequestId } from '@tiertalk/log';
import { RefusalLog, clientAddressKey, handleMetricsRequest, type HttpRoute } from '@tiertalk/metrics';
import { UploadError, uploadErrorBody, uploadOkBody, uploadResultLabel } from './answers';
import { CorsPolicy, isPreflight, preflightHeaders } from './cors';
import { sendDownload } from './download';
import { countUpload } from './msfs-metrics';
import type { FileStore } from '@tiertalk/storage';
import { FORM_OVERHEAD_BYTES, receiveUpload } from './upload';
import { UploadLimit } from './upload-limit';

export interface MsfsHttpOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  store: FileStore;
  maxFileBytes: number;
  allowedTypes: readonly string[];
  /** Per client address; 0 = unlimited. */
  uploadsPerMinute: number;
  idleTimeoutMs: number;
  /** Origins of pages that may read answers (TT_MSFS_CORS_ORIGINS); `*` = any. Default: none. */
  corsOrigins?: readonly string[];
  /** Base of the `url` in upload answers (ends with "/"); undefined = http://<the request's Host>/, as TeamTalk did. */
  publicUrl?: string;
  logger: Logger;
  /** Answer Prometheus at GET /metrics here (when the service has no TT_METRICS_PORT of its own). */
  serveMetrics?: boolean;
  /** GET /healthz and /readyz (libs/health probeRoutes). */
  probes?: HttpRoute;
}

export interface MsfsHttpServer {
  readonly address: AddressInfo;
  /** Stops accepting, lets in-flight transfers finish for up to graceMs, then drops what is left. */
  close(graceMs?: number): Promise<void>;
}

// After an upload is refused, the rest of its body is read and dropped (so the client sees the answer
// rather than a reset) up to twice the file limit plus the form's framing; past that the connection is cut.
const DISCARD_FACTOR = 2;
// A Host header that can go into the answer's url as it is.
const PLAIN_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

export async function startMsfsHttpServer(opts: MsfsHttpOptions): Promise<MsfsHttpServer> {
  const log = opts.logger.child({ component: 'http' });
  const refusals = new RefusalLog(log);
  const limit = new UploadLimit(opts.uploadsPerMinute);
  const allowedTypes = new Set(opts.allowedTypes.map((t) => t.toLowerCase()));
  const cors = new CorsPolicy(opts.corsOrigins ?? []);
  // TeamTalk never looked at Host; a client that omits it must still be served.
  const server = http.createServer({ requireHostHeader: false });
  server.setTimeout(opts.idleTimeoutMs, (socket) => socket.destroy());
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    refusals.refuse('msfs_bad_request', String((socket as { remoteAddress?: string }).remoteAddress), { err: err.code ?? err.message });
    socket.destroy();
  });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (opts.probes?.(req, res)) return;
    if (opts.serveMetrics && (req.url ?? '').split('?')[0] === '/metrics') {
      await handleMetricsRequest(req, res);
      return;
    }
    if (isPreflight(req)) return preflight(req, res);
    // Lets the page that sent this request read the answer, when its origin is allowed.
    for (const [name, value] of Object.entries(cors.headers(req))) res.setHeader(name, value);
    if (req.method === 'POST') return upload(req, res);
    if (req.method === 'GET' || req.method === 'HEAD') {
      const started = performance.now();
      const outcome = await sendDownload(req, res, opts.store);
      if (outcome.result === 'storage_failed') log.error({ url: req.url, detail: outcome.detail }, 'download failed');
      else log.debug({ url: req.url, ...outcome, ms: elapsed(started) }, 'download');
      return;
    }
    // TeamTalk's answer to any other method.
    refusals.refuse('msfs_method_not_allowed', String(req.socket.remoteAddress), { method: req.method });
    res.writeHead(403, 'Access Forbidden', { 'Content-Length': 0, Connection: 'close', 'Content-Type': 'text/html;charset=utf-8' }).end();
  };

  const preflight = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (!cors.allowsPreflight(req)) {
      refusals.refuse('msfs_cors_not_allowed', String(req.socket.remoteAddress), { origin: req.headers.origin, method: req.headers['access-control-request-method'] });
      res.writeHead(403, 'Access Forbidden', { 'Content-Length': 0, 'Content-Type': 'text/html;charset=utf-8', Vary: 'Origin' }).end();
      return;
    }
    res.writeHead(204, preflightHeaders(cors, req)).end();
  };

  const upload = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const started = performance.now();
    const address = req.socket.remoteAddress;
    const fields = { reqId: newRequestId(), url: req.url, remote: address, length: req.headers['content-length'] };
    const waitSec = await limit.take(clientAddressKey(address) ?? String(address));
    if (waitSec > 0) {
      countUpload('rate_limited');
      refusals.refuse('msfs_upload_rate_limited', String(address), fields);
      answerAfterBody(req, res, 429, uploadErrorBody(UploadError.RATE_LIMITED), { 'Retry-After': String(waitSec) });
      return;
    }
    const outcome = await receiveUpload(req, { store: opts.store, maxFileBytes: opts.maxFileBytes, allowedTypes });
    if (outcome.code === 'aborted') {
      countUpload('aborted');
      log.info({ ...fields, detail: outcome.detail }, 'upload aborted');
      req.destroy();
      return;
    }
    if (outcome.code === 0) {
      countUpload('ok', outcome.bytes, elapsed(started) / 1000);
      log.info({ ...fields, path: outcome.path, bytes: outcome.bytes, ms: elapsed(started) }, 'upload stored');
      answerAfterBody(req, res, 200, uploadOkBody(outcome.path, `${baseUrl(req)}${outcome.path}`));
      return;
    }
    countUpload(uploadResultLabel(outcome.code));
    if (outcome.code === UploadError.STORAGE_FAILED) log.error({ ...fields, detail: outcome.detail }, 'upload could not be stored');
    else refusals.refuse(`msfs_upload_${uploadResultLabel(outcome.code)}`, String(address), { ...fields, code: outcome.code, detail: outcome.detail });
    answerAfterBody(req, res, outcome.code === UploadError.STORAGE_FAILED ? 500 : 200, uploadErrorBody(outcome.code));
  };

  /** Answers once the request body is read to its end (the rest dropped), as TeamTalk did; too much more cuts the connection. */
  const answerAfterBody = (req: http.IncomingMessage, res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    const send = (): void => {
      const bytes = Buffer.from(body, 'utf8');
      res.sendDate = false;
      res.writeHead(status, { ...headers, Connection: 'close', 'Content-Length': bytes.length, 'Content-Type': 'text/html;charset=utf-8' });
      res.end(bytes);
    };
    if (req.readableEnded) return send();
    req.unpipe();
    let dropped = 0;
    req.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > opts.maxFileBytes * DISCARD_FACTOR + FORM_OVERHEAD_BYTES) {
        refusals.refuse('msfs_upload_body_too_large', String(req.socket.remoteAddress), { url: req.url });
        req.socket.destroy();
      }
    });
    req.once('end', send);
    req.resume();
  };

  const baseUrl = (req: http.IncomingMessage): string => {
    if (opts.publicUrl !== undefined) return opts.publicUrl;
    const host = req.headers.host;
    if (host !== undefined && PLAIN_HOST.test(host)) return `http://${host}/`;
    const local = req.socket.address() as AddressInfo;
    return `http://${local.family === 'IPv6' ? `[${local.address}]` : local.address}:${local.port}/`;
  };

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'Content-Length': 0, Connection: 'close' }).end();
      else res.destroy();
    });
  });

  const address = await listen(server, opts.port, opts.host, 'msfs HTTP server');
  log.info({ host: address.address, port: address.port, store: opts.store.description }, 'msfs listening');

  const close = gracefulClose(server);
  return { address, close: (graceMs = 5000) => close(graceMs) };
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 100) / 100;
}
