// docs/FLOWS.md §1a: ask the login server which msg server to use.
import http from 'node:http';
import https from 'node:https';
import { ClientError } from './errors';
import { isCertificateError, tlsConnectOptions, type ClientTlsOptions } from './transport';

export interface GatewayChoice {
  host: string;
  /** TeamTalk's plain TCP port; 0 when the gateway serves TLS only. */
  port: number;
  /** TierTalk's TeamTalk-over-TLS port (`tlsPort` in the answer), when the gateway has one. */
  tlsPort?: number;
  /** The login server's whole JSON answer (priorIP, backupIP, msfsPrior, discovery, ...). */
  raw: Record<string, unknown>;
}

export interface PickGatewayOptions {
  /** Default 10000 ms. */
  timeoutMs?: number;
  /** Certificate checks of an https:// login URL (default: the system's CAs). */
  tls?: ClientTlsOptions;
}

/** The port to connect to: the TLS port when `tls`, else the plain one; a clear error when the gateway has none. */
export function gatewayPort(choice: GatewayChoice, tls: boolean): number {
  const port = tls ? choice.tlsPort : choice.port;
  if (port === undefined || port === 0) {
    throw new ClientError('BAD_LOGIN_SERVER_RESPONSE', tls ? `gateway ${choice.host} offers no TLS port (no tlsPort in /msg_server)` : `gateway ${choice.host} offers TLS only (port 0, tlsPort ${String(choice.tlsPort)})`);
  }
  return port;
}

/** A port field as TeamTalk sends it (decimal string) or as a number; NaN when neither. */
function portField(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,5}$/.test(v) ? Number(v) : NaN;
}

// TeamTalk's answer is a few hundred bytes; a login server sending more is not one.
const MAX_ANSWER_BYTES = 64 * 1024;

/** GET with node:http(s), so an https login server can be checked against a given CA. */
function getText(url: string, timeoutMs: number, tls: ClientTlsOptions | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const options: https.RequestOptions = { timeout: timeoutMs, ...(secure ? tlsConnectOptions(target.hostname.replace(/^\[|\]$/g, ''), tls ?? {}) : {}) };
    const req = (secure ? https : http).get(target, options, (res) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes > MAX_ANSWER_BYTES) req.destroy(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(url: string, why: string, cause?: unknown): ClientError {
  return new ClientError('BAD_LOGIN_SERVER_RESPONSE', `${url}: ${why}`, { cause });
}

/** `GET <loginUrl>/msg_server`; throws ClientError NO_MSG_SERVER / MSG_SERVER_FULL when the login server says so. */
export async function pickGateway(loginUrl: string, opts: PickGatewayOptions = {}): Promise<GatewayChoice> {
  const url = `${loginUrl.replace(/\/+$/, '')}/msg_server`;
  let text: string;
  try {
    const res = await getText(url, opts.timeoutMs ?? 10_000, opts.tls);
    text = res.text;
    if (res.status < 200 || res.status > 299) throw bad(url, `HTTP ${res.status}`);
  } catch (err) {
    if (err instanceof ClientError) throw err;
    throw new ClientError(isCertificateError(err) ? 'TLS_VERIFY_FAILED' : 'CONNECT_FAILED', `${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw bad(url, 'body is not JSON', err);
  }
  if (!isRecord(raw)) throw bad(url, 'body is not a JSON object');

  const code = Number(raw.code);
  const msg = typeof raw.msg === 'string' ? raw.msg : '';
  if (code === 1) throw new ClientError('NO_MSG_SERVER', msg || 'no msg server', { resultCode: 1, resultString: msg });
  if (code === 2) throw new ClientError('MSG_SERVER_FULL', msg || 'all msg servers are full', { resultCode: 2, resultString: msg });
  if (code !== 0) throw bad(url, `code ${String(raw.code)}: ${msg}`);

  // TeamTalk sends the port as a decimal string; accept a number as well.
  const port = portField(raw.port);
  const tlsPort = raw.tlsPort === undefined ? undefined : portField(raw.tlsPort);
  if (tlsPort !== undefined && (!Number.isInteger(tlsPort) || tlsPort <= 0 || tlsPort > 0xffff)) throw bad(url, `bad tlsPort ${JSON.stringify(raw.tlsPort)}`);
  // Port 0: a TLS-only gateway.
  const minPort = tlsPort === undefined ? 1 : 0;
  if (!Number.isInteger(port) || port < minPort || port > 0xffff) throw bad(url, `bad port ${JSON.stringify(raw.port)}`);
  const host = typeof raw.priorIP === 'string' && raw.priorIP !== '' ? raw.priorIP : raw.backupIP;
  if (typeof host !== 'string' || host === '') throw bad(url, 'no priorIP/backupIP');
  return tlsPort === undefined ? { host, port, raw } : { host, port, tlsPort, raw };
}
