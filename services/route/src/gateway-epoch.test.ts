import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { createLogger } from '@tiertalk/log';
import { IM } from '@tiertalk/proto';
import { Registry } from '@tiertalk/registry';
import { insecureLoopback } from '@tiertalk/rpc';
import { GatewayLinks } from './gateway-links';
import { SessionStore } from './session-store';
import { redisDbsForFile } from '@tiertalk/testkit';

// A gateway process restarted under the same instance id (new epoch): the old
// process's sessions are dead and must go, the new one's must stay. Real etcd and Redis.
// A db of the test Redis claimed for this file, so no other test file or run shares it.
const redisDb = redisDbsForFile({ beforeAll, afterAll });
const ETCD = (process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379').split(',');
const PC = IM.BaseDefine.ClientType.CLIENT_TYPE_WINDOWS;

async function until(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('gateway epochs', () => {
  const logger = createLogger({ service: 'route-test', instanceId: 'route-test', level: 'silent' });
  let redis: Redis;
  let store: SessionStore;
  let registry: Registry;
  let links: GatewayLinks;

  beforeAll(async () => {
    redis = new Redis(redisDb.url, { maxRetriesPerRequest: 1 });
    store = new SessionStore(redis, `tt:test:${randomBytes(5).toString('hex')}:`);
    registry = await Registry.connect({ endpoints: ETCD, prefix: `/tiertalk-test-epoch-${randomBytes(5).toString('hex')}`, leaseTtlSec: 5, logger });
  });

  afterAll(async () => {
    await links?.close();
    await registry?.close();
    await redis?.quit();
  });

  it("purges only the previous process's sessions when a gateway re-registers with a new epoch", async () => {
    const first = await registry.register({ id: 'gw-e', service: 'msg', addr: '127.0.0.1:1', load: 0, meta: { epoch: 'one' } });
    links = new GatewayLinks({ registry, store, logger, security: insecureLoopback(), sweepIntervalMs: 60_000 });
    await links.start();
    await store.login({ gatewayId: 'gw-e@one', connId: 1, userId: 7, clientType: PC });
    expect(links.isLive('gw-e@one')).toBe(true);
    expect(links.isLive('gw-e@two')).toBe(false);

    // The process dies without deregistering and a new one takes the same id.
    await first.abandon();
    const second = await registry.register({ id: 'gw-e', service: 'msg', addr: '127.0.0.1:1', load: 0, meta: { epoch: 'two' } });
    await store.login({ gatewayId: 'gw-e@two', connId: 1, userId: 8, clientType: PC });
    await until(async () => (await store.lookup([7])).get(7) === undefined || (await store.lookup([7])).get(7)?.length === 0);
    expect(links.isLive('gw-e@one')).toBe(false);
    expect(links.isLive('gw-e@two')).toBe(true);
    expect((await store.lookup([8])).get(8)?.map((s) => s.gatewayId)).toEqual(['gw-e@two']);

    // Deregistering the instance purges its sessions whatever their epoch.
    await second.deregister();
    await until(async () => ((await store.lookup([8])).get(8) ?? []).length === 0);
  });
});
