// The Node client: the protocol core (client.ts) over Node's transports
// (node-transport.ts: TCP, TeamTalk over TLS, ws://, wss://).
import { TeamTalkClientCore, type ConnectOptions } from './client';
import { openTransport } from './node-transport';

export * from './client';

export class TeamTalkClient extends TeamTalkClientCore {
  /** Opens the connection (no login yet). Rejects with ClientError CONNECT_FAILED (or TLS_VERIFY_FAILED). */
  static async connect(opts: ConnectOptions): Promise<TeamTalkClient> {
    const transportKind = opts.transport ?? 'tcp';
    const client = new TeamTalkClient(opts, { host: opts.host, port: opts.port, transportKind, secure: opts.tls !== undefined && opts.tls !== false });
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RangeError(`connectTimeoutMs must be a non-negative number, got ${String(opts.connectTimeoutMs)}`);
    await client.attach((handlers) =>
      openTransport({ kind: transportKind, host: opts.host, port: opts.port, timeoutMs, tls: opts.tls === true ? {} : opts.tls || undefined, localAddress: opts.localAddress }, handlers),
    );
    return client;
  }
}
