// docs/FLOWS.md §1a: ask the login server which msg server to use (Node: node:http(s), so a given CA can be trusted).
import http from 'node:http';
import https from 'node:https';
import { ClientError } from './errors';
import { bad, parseMsgServerAnswer, type GatewayChoice } from './gateway-answer';
import { isCertificateError, tlsConnectOptions, type ClientTlsOptions } from './node-transport';

export { gatewayPort } from './gateway-answer';
export type { GatewayChoice } from './gateway-answer';

export interface PickGatewayOptions {
  /** Default 10000 ms. */
  timeoutMs?: number;
  /** Certificate checks of an https:// login URL (default: the system's CAs). */
  tls?: ClientTlsOptions;
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

  return parseMsgServerAnswer(url, text);
}
