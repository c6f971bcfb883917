import type * as grpc from '@grpc/grpc-js';
import { createLogger } from '@tiertalk/log';
import { IM, tiertalk } from '@tiertalk/proto';
import { waitFor } from '@tiertalk/testkit';
import { loadMsgConfig } from '../config';
import { Connection } from '../conn/connection';
import { ConnectionRegistry } from '../conn/connection-registry';
import type { Transport, TransportSink } from '../conn/transport';
import { SessionSync } from './session-sync';

const log = createLogger({ service: 'msg-test', instanceId: 'test', level: 'silent' });
const config = loadMsgConfig({ TT_INSTANCE_ID: 'gw-test' });
const PC = IM.BaseDefine.ClientType.CLIENT_TYPE_WINDOWS;

class MemoryTransport implements Transport {
  readonly kind = 'tcp';
  readonly remoteAddress = 'memory';
  attach(_sink: TransportSink): void {}
  write(): boolean {
    return true;
  }
  get bufferedBytes(): number {
    return 0;
  }
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {}
}

/** Route as seen by the gateway: every SyncSessions and Logout it receives; answers when told to. */
class RouteStub {
  readonly syncs: tiertalk.SessionSync[] = [];
  readonly logouts: tiertalk.SessionRef.$Properties[] = [];
  private answers: ((err?: Error) => void)[] = [];

  call<Req, Res>(_method: grpc.MethodDefinition<Req, Res>, req: Req): Promise<Res> {
    this.syncs.push(req as unknown as tiertalk.SessionSync);
    return new Promise<Res>((resolve, reject) => {
      this.answers.push((err) => (err ? reject(err) : resolve(tiertalk.SessionSyncRsp.create({ added: 0, removed: 0 }) as unknown as Res)));
    });
  }

  logout(ref: tiertalk.SessionRef.$Properties): Promise<void> {
    this.logouts.push(ref);
    return Promise.resolve();
  }

  answer(err?: Error): void {
    const next = this.answers.shift();
    if (!next) throw new Error('no sync waiting for an answer');
    next(err);
  }
}

describe('SessionSync', () => {
  const conns: Connection[] = [];
  let sync: SessionSync | undefined;
  afterEach(() => {
    sync?.close();
    for (const c of conns.splice(0)) c.close('test end', 'destroy');
  });

  function connection(connections: ConnectionRegistry, userId: number, open: boolean): Connection {
    const conn = new Connection(new MemoryTransport(), config.conn, { onFrame: () => undefined, onClose: (c) => connections.remove(c) }, log);
    conns.push(conn);
    connections.add(conn);
    if (userId > 0) {
      conn.beginLogin(PC, IM.BaseDefine.UserStatType.USER_STATUS_ONLINE);
      connections.bindUser(conn, userId);
      if (open) connections.markOpen(conn);
    }
    return conn;
  }

  it('lists every session bound to a user, runs one more sync for requests made during one, and logs out what closed meanwhile', async () => {
    const connections = new ConnectionRegistry(log);
    const route = new RouteStub();
    const open = connection(connections, 7, true);
    const loggingIn = connection(connections, 8, false);
    connection(connections, 0, false); // not logged in: no session
    const leaving = connection(connections, 9, true);
    sync = new SessionSync({ gatewayId: 'gw-test@e1', connections, route, logger: log, intervalMs: 60_000 });

    sync.request('route-resync');
    expect(route.syncs).toHaveLength(1);
    const first = route.syncs[0];
    expect(first?.gatewayId).toBe('gw-test@e1');
    expect(first?.sessions.map((s) => [s.connId, s.userId, s.gatewayId])).toEqual([
      [open.id, 7, 'gw-test@e1'],
      [loggingIn.id, 8, 'gw-test@e1'],
      [leaving.id, 9, 'gw-test@e1'],
    ]);
    // While the sync is on its way: two more requests, and a listed connection closes.
    sync.request('periodic');
    sync.request('lease-renewed');
    leaving.close('bye', 'destroy');
    route.answer();
    // Its Logout may have reached route before the sync re-registered it: sent again.
    await waitFor(() => route.logouts.length === 1, 2_000);
    expect(route.logouts[0]).toMatchObject({ gatewayId: 'gw-test@e1', connId: leaving.id, userId: 9 });
    // Exactly one follow-up sync, without the closed connection.
    await waitFor(() => route.syncs.length === 2, 2_000);
    expect(route.syncs[1]?.sessions.map((s) => s.userId)).toEqual([7, 8]);
    route.answer();
    await sync.idle();
    expect(route.syncs).toHaveLength(2);
  });

  it('retries a failed sync until route answers', async () => {
    const connections = new ConnectionRegistry(log);
    const route = new RouteStub();
    connection(connections, 7, true);
    sync = new SessionSync({ gatewayId: 'gw-test@e1', connections, route, logger: log, intervalMs: 60_000 });
    sync.request('lease-renewed');
    route.answer(new Error('no route instance'));
    await waitFor(() => route.syncs.length === 2, 5_000);
    route.answer();
    await sync.idle();
    expect(route.syncs[1]?.sessions.map((s) => s.userId)).toEqual([7]);
  });
});
