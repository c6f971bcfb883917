// The login server's /msg_server answer (docs/FLOWS.md §1a), parsed the same way
// whatever fetched it (gateway.ts under Node, browser.ts with fetch).
import { ClientError } from './errors';

export interface GatewayChoice {
  host: string;
  /** TeamTalk's plain TCP port; 0 when the gateway serves TLS only. */
  port: number;
  /** TierTalk's TeamTalk-over-TLS port (`tlsPort` in the answer), when the gateway has one. */
  tlsPort?: number;
  /** TierTalk's WebSocket port (`wsPort` in the answer), when the gateway publishes one: what a browser connects to. */
  wsPort?: number;
  /** The WebSocket port speaks wss:// (`wss: "1"` in the answer). */
  wss?: boolean;
  /** The login server's whole JSON answer (priorIP, backupIP, msfsPrior, discovery, ...). */
  raw: Record<string, unknown>;
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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function bad(url: string, why: string, cause?: unknown): ClientError {
  return new ClientError('BAD_LOGIN_SERVER_RESPONSE', `${url}: ${why}`, { cause });
}

/** A TierTalk port field that may be absent; a present one must be a valid port. */
function optionalPort(url: string, raw: Record<string, unknown>, name: 'tlsPort' | 'wsPort'): number | undefined {
  if (raw[name] === undefined) return undefined;
  const port = portField(raw[name]);
  if (!Number.isInteger(port) || port <= 0 || port > 0xffff) throw bad(url, `bad ${name} ${JSON.stringify(raw[name])}`);
  return port;
}

/** The gateway of a /msg_server answer; throws ClientError NO_MSG_SERVER / MSG_SERVER_FULL when the login server says so. */
export function parseMsgServerAnswer(url: string, text: string): GatewayChoice {
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
  const tlsPort = optionalPort(url, raw, 'tlsPort');
  const wsPort = optionalPort(url, raw, 'wsPort');
  // Port 0: a TLS-only gateway.
  const minPort = tlsPort === undefined ? 1 : 0;
  if (!Number.isInteger(port) || port < minPort || port > 0xffff) throw bad(url, `bad port ${JSON.stringify(raw.port)}`);
  const host = typeof raw.priorIP === 'string' && raw.priorIP !== '' ? raw.priorIP : raw.backupIP;
  if (typeof host !== 'string' || host === '') throw bad(url, 'no priorIP/backupIP');
  const wss = wsPort !== undefined && (raw.wss === '1' || raw.wss === 1 || raw.wss === true);
  return { host, port, ...(tlsPort !== undefined ? { tlsPort } : {}), ...(wsPort !== undefined ? { wsPort } : {}), ...(wss ? { wss } : {}), raw };
}
