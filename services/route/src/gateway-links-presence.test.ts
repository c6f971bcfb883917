import { randomBytes } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import Redis from 'ioredis';
import { createLogger } from '@tiertalk/log';
import { CID, GatewayService, IM, tiertalk, type PushAck, type PushBatch } from '@tiertalk/proto';
import { Registry, type Registration } from '@tiertalk/registry';
import { bindServer, createServer, insecureLoopback } from '@tiertalk/rpc';
import { GatewayLinks } from './gateway-links';
import { SessionStore } from './session-store';
import { redisDbsForFile } from '@tiertalk/testkit';

// Coalesced presence on the Push streams (docs/FLOWS.md §5): one list per
// gateway per interval, flushed ahead of any other push to that gateway, and
// one push per user for a gateway that does not advertise lists. Real etcd and Redis.
// A db of the test Redis claimed for this file, so no other test file or run shares it.
const redisDb = redisDbsForFile({ beforeAll, afterAll });
const ETCD = (process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379').split(',');
const { USER_STATUS_ONLINE: ONLINE, USER_STATUS_OFFLINE: OFFLINE } = IM.BaseDefine.UserStatType;
const COALESCE_MS = 300;

/** A gateway's Push server that records every batch and acknowledges it. */
class FakeGateway {
  readonly batches: PushBatch[] = [];
  private waiters: Array<() => void> = [];
  readonly server = createServer({ security: insecureLoopback() });
  port = 0;

  async start(): Promise<void> {
    this.server.addService(GatewayService, {
      Push: (call: grpc.ServerDuplexStream<PushBatch, PushAck>) => {
        call.on('data', (b: PushBatch) => {
          this.batches.push(b);
          call.write(tiertalk.PushAck.create({ batches: 1 }));
          for (const w of this.waiters.splice(0)) w();
        });
        call.on('error', () => undefined);
      },
    });
    this.port = await bindServer(this.server, '127.0.0.1', 0);
  }

  async untilBatches(n: number, timeoutMs = 5000): Promise<PushBatch[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.batches.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.batches.length} of ${n} batches`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.batches;
  }
}

describe('GatewayLinks presence coalescing', () => {
  let redis: Redis;
  let registry: Registry;
  let links: GatewayLinks;
  const lists = new FakeGateway();
  const older = new FakeGateway();
  const registrations: Registration[] = [];

  beforeAll(async () => {
    const logger = createLogger({ service: 'route-test', instanceId: 'route-test', level: 'silent' });
    redis = new Redis(redisDb.url, { maxRetriesPerRequest: 1 });
    const store = new SessionStore(redis, `tt:test:${randomBytes(5).toString('hex')}:`);
    registry = await Registry.connect({ endpoints: ETCD, prefix: `/tiertalk-test-presence-${randomBytes(5).toString('hex')}`, leaseTtlSec: 5, logger });
    await lists.start();
    await older.start();
    registrations.push(await registry.register({ id: 'gw-lists', service: 'msg', addr: `127.0.0.1:${lists.port}`, load: 0, meta: { epoch: 'e1', presenceLists: 1 } }));
    registrations.push(await registry.register({ id: 'gw-older', service: 'msg', addr: `127.0.0.1:${older.port}`, load: 0, meta: { epoch: 'e2' } }));
    links = new GatewayLinks({ registry, store, logger, security: insecureLoopback(), sweepIntervalMs: 60_000, presenceCoalesceMs: COALESCE_MS });
    await links.start();
  });

  afterAll(async () => {
    await links?.close();
    lists.server.forceShutdown();
    older.server.forceShutdown();
    for (const r of registrations) await r.deregister();
    await registry?.close();
    await redis?.quit();
  });

  it('sends each gateway its gathered list before any other push, and an older gateway one push per user', async () => {
    expect(links.notifyPcStatus(1, ONLINE, { gatewayId: 'gw-lists@e1', connId: 7 })).toBe(2);
    links.notifyPcStatus(2, ONLINE);
    links.notifyPcStatus(3, ONLINE, { gatewayId: 'gw-older@e2', connId: 9 });
    links.notifyPcStatus(2, OFFLINE);
    // A message to gw-lists: what was gathered for it goes first, in its own batch.
    expect(links.send('gw-lists@e1', [{ commandId: CID.CID_MSG_DATA, body: randomBytes(8), toUserIds: [5] }])).toBe(true);

    const [presence, message] = await lists.untilBatches(2);
    expect(presence?.items).toHaveLength(1);
    const list = presence?.items[0];
    expect(list?.commandId).toBe(CID.CID_BUDDY_LIST_STATUS_NOTIFY);
    expect(list?.allUsers).toBe(true);
    expect(list?.presence?.map((c) => ({ userId: c.userId, status: c.status, exclude: c.excludeConnIds }))).toEqual([
      { userId: 1, status: ONLINE, exclude: [7] },
      { userId: 3, status: ONLINE, exclude: [] },
      { userId: 2, status: OFFLINE, exclude: [] },
    ]);
    expect(message?.items[0]?.commandId).toBe(CID.CID_MSG_DATA);

    // The older gateway gets its share when the interval ends: one IMUserStatNotify push per user.
    const [legacy] = await older.untilBatches(1);
    const decoded = legacy?.items.map((p) => {
      const stat = IM.Buddy.IMUserStatNotify.decode(p.body).userStat;
      return { userId: stat?.userId, status: stat?.status, exclude: p.originConnId, listed: p.presence?.length ?? 0 };
    });
    expect(decoded).toEqual([
      { userId: 1, status: ONLINE, exclude: 0, listed: 0 },
      { userId: 3, status: ONLINE, exclude: 9, listed: 0 },
      { userId: 2, status: OFFLINE, exclude: 0, listed: 0 },
    ]);
    expect(lists.batches).toHaveLength(2);
  });
});
