// flows.md §1a: ask the login server which msg server to use.
import { ClientError } from './errors';

export interface GatewayChoice {
  host: string;
  port: number;
  /** The login server's whole JSON answer (priorIP, backupIP, msfsPrior, discovery, ...). */
  raw: Record<string, unknown>;
}

export interface PickGatewayOptions {
  /** Default 10000 ms. */
  timeoutMs?: number;
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
    const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
    text = await res.text();
    if (!res.ok) throw bad(url, `HTTP ${res.status}`);
  } catch (err) {
    if (err instanceof ClientError) throw err;
    throw new ClientError('CONNECT_FAILED', `${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
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
  const port = typeof raw.port === 'number' ? raw.port : typeof raw.port === 'string' ? Number(raw.port) : NaN;
  if (!Number.isInteger(port) || port <= 0 || port > 0xffff) throw bad(url, `bad port ${JSON.stringify(raw.port)}`);
  const host = typeof raw.priorIP === 'string' && raw.priorIP !== '' ? raw.priorIP : raw.backupIP;
  if (typeof host !== 'string' || host === '') throw bad(url, 'no priorIP/backupIP');
  return { host, port, raw };
}
