// The SDK in a browser: the protocol core over the page's WebSocket, and the
// login server's /msg_server through fetch. Bundlers pick this file instead of
// index.ts (package.json "browser"); nothing here needs Node.
import { TeamTalkClientCore, type ClientOptions } from './client';
import { openWebSocket } from './browser-transport';
import { ClientError } from './errors';
import { parseMsgServerAnswer, type GatewayChoice } from './gateway-answer';

export { TeamTalkClientCore as TeamTalkClient, ClientType, SessionType, DEFAULT_PAGE_SIZE, utf8 } from './client';
export type { ClientOptions, CloseInfo, LoginOptions, LoginResult, PduEvent, RequestOptions, SendResult, TeamTalkClientEvents, UserStatType } from './client';
export { GroupRequests, GroupType, GroupAdminResult, GroupAdminAction } from './group-requests';
export type { CreateGroupOptions, GroupRequestOptions, GroupSendResult, MemberChange } from './group-requests';
export { ClientError, isClientError } from './errors';
export type { ClientErrorCode, ClientErrorDetails } from './errors';
export { md5hex } from './password';
export type { GatewayChoice } from './gateway-answer';

export interface WebSocketConnectOptions extends ClientOptions {
  /** Default 10000. */
  connectTimeoutMs?: number;
}

/** Connects to a gateway's WebSocket URL (ws://host:wsPort/ or wss://...); open, not logged in. */
export async function connectWebSocket(url: string, opts: WebSocketConnectOptions = {}): Promise<TeamTalkClientCore> {
  const target = new URL(url);
  const secure = target.protocol === 'wss:';
  const port = Number(target.port || (secure ? 443 : 80));
  const timeoutMs = opts.connectTimeoutMs ?? 10_000;
  return TeamTalkClientCore.open((handlers) => openWebSocket(url, timeoutMs, handlers), { host: target.hostname, port, transportKind: 'ws', secure }, opts);
}

/** `GET <loginUrl>/msg_server` with fetch; throws ClientError NO_MSG_SERVER / MSG_SERVER_FULL when the login server says so. */
export async function pickGatewayWeb(loginUrl: string, timeoutMs = 10_000): Promise<GatewayChoice> {
  const url = `${loginUrl.replace(/\/+$/, '')}/msg_server`;
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new ClientError('BAD_LOGIN_SERVER_RESPONSE', `${url}: HTTP ${res.status}`);
    text = await res.text();
  } catch (err) {
    if (err instanceof ClientError) throw err;
    throw new ClientError('CONNECT_FAILED', `${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return parseMsgServerAnswer(url, text);
}

/**
 * The WebSocket URL of a picked gateway: wss:// when the gateway speaks it; a page
 * that came over https cannot open ws:// (mixed content), so that is a clear error.
 */
export function gatewayWebSocketUrl(choice: GatewayChoice, pageSecure: boolean): string {
  if (choice.wsPort === undefined) throw new ClientError('BAD_LOGIN_SERVER_RESPONSE', `gateway ${choice.host} publishes no WebSocket port (no wsPort in /msg_server)`);
  if (pageSecure && !choice.wss) throw new ClientError('CONNECT_FAILED', `gateway ${choice.host} offers ws:// only, which an https page may not open; serve the page over http or give the gateways a certificate`);
  const host = choice.host.includes(':') ? `[${choice.host}]` : choice.host;
  return `${choice.wss ? 'wss' : 'ws'}://${host}:${choice.wsPort}/`;
}
