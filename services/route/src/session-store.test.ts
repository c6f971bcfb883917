import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { IM } from '@tiertalk/proto';
import { SessionStore } from './session-store';

// Real Redis, db 12, a key prefix of our own (style.md: no mocks of Redis).
const REDIS_URL = process.env.TT_TEST_ROUTE_REDIS ?? 'redis://127.0.0.1:6379/12';
const { CLIENT_TYPE_WINDOWS, CLIENT_TYPE_MAC, CLIENT_TYPE_ANDROID } = IM.BaseDefine.ClientType;

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

describe('SessionStore', () => {
  let redis: Redis;
  let prefix: string;
  let store: SessionStore;

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(() => {
    prefix = `tt:test:${randomBytes(5).toString('hex')}:`;
    store = new SessionStore(redis, prefix);
  });
  afterEach(async () => {
    await deleteKeys(redis, prefix);
  });

  it('logs in, returns earlier sessions, looks up and logs out', async () => {
    expect(await store.login({ gatewayId: 'gw-a', connId: 1, userId: 7, clientType: CLIENT_TYPE_WINDOWS })).toEqual([]);
    const before = await store.login({ gatewayId: 'gw-b', connId: 2, userId: 7, clientType: CLIENT_TYPE_ANDROID });
    expect(before).toEqual([{ gatewayId: 'gw-a', connId: 1, clientType: CLIENT_TYPE_WINDOWS }]);
    // the same connection logging in again does not see itself
    expect(await store.login({ gatewayId: 'gw-b', connId: 2, userId: 7, clientType: CLIENT_TYPE_ANDROID })).toEqual([
      { gatewayId: 'gw-a', connId: 1, clientType: CLIENT_TYPE_WINDOWS },
    ]);

    const found = await store.lookup([7, 8]);
    expect(found.get(8)).toEqual([]);
    expect(found.get(7)?.sort((x, y) => x.connId - y.connId)).toEqual([
      { gatewayId: 'gw-a', connId: 1, clientType: CLIENT_TYPE_WINDOWS },
      { gatewayId: 'gw-b', connId: 2, clientType: CLIENT_TYPE_ANDROID },
    ]);
    expect((await store.gatewayIds()).sort()).toEqual(['gw-a', 'gw-b']);

    expect(await store.logout({ gatewayId: 'gw-a', connId: 1, userId: 7 })).toBe(true);
    expect(await store.logout({ gatewayId: 'gw-a', connId: 1, userId: 7 })).toBe(false);
    expect((await store.lookup([7])).get(7)).toEqual([{ gatewayId: 'gw-b', connId: 2, clientType: CLIENT_TYPE_ANDROID }]);
    // an emptied gateway index leaves the gateways set; an emptied user hash disappears
    expect(await store.gatewayIds()).toEqual(['gw-b']);
    expect(await redis.exists(store.gatewayKey('gw-a'))).toBe(0);
    await store.logout({ gatewayId: 'gw-b', connId: 2, userId: 7 });
    expect(await redis.exists(store.userKey(7))).toBe(0);
  });

  it('leave returns the removed client type and the sessions that remain', async () => {
    await store.login({ gatewayId: 'gw-a', connId: 1, userId: 7, clientType: CLIENT_TYPE_WINDOWS });
    await store.login({ gatewayId: 'gw-b', connId: 2, userId: 7, clientType: CLIENT_TYPE_ANDROID });
    // the stored type is reported, whatever the caller believes
    expect(await store.leave({ gatewayId: 'gw-a', connId: 1, userId: 7 })).toEqual({
      removed: CLIENT_TYPE_WINDOWS,
      remaining: [{ gatewayId: 'gw-b', connId: 2, clientType: CLIENT_TYPE_ANDROID }],
    });
    expect(await store.leave({ gatewayId: 'gw-a', connId: 1, userId: 7 })).toEqual({
      removed: undefined,
      remaining: [{ gatewayId: 'gw-b', connId: 2, clientType: CLIENT_TYPE_ANDROID }],
    });
    expect(await store.leave({ gatewayId: 'gw-b', connId: 2, userId: 7 })).toEqual({ removed: CLIENT_TYPE_ANDROID, remaining: [] });
    expect(await store.gatewayIds()).toEqual([]);
  });

  it('of two concurrent logouts of a user\'s last two PC sessions, exactly one sees no PC left', async () => {
    await store.login({ gatewayId: 'gw-a', connId: 1, userId: 9, clientType: CLIENT_TYPE_WINDOWS });
    await store.login({ gatewayId: 'gw-b', connId: 2, userId: 9, clientType: CLIENT_TYPE_MAC });
    const [x, y] = await Promise.all([
      store.leave({ gatewayId: 'gw-a', connId: 1, userId: 9 }),
      store.leave({ gatewayId: 'gw-b', connId: 2, userId: 9 }),
    ]);
    expect([x.remaining.length, y.remaining.length].sort()).toEqual([0, 1]);
  });

  it('logout of an unknown session is harmless', async () => {
    await store.login({ gatewayId: 'gw-a', connId: 1, userId: 7, clientType: CLIENT_TYPE_MAC });
    expect(await store.logout({ gatewayId: 'gw-a', connId: 99, userId: 7 })).toBe(false);
    expect(await store.logout({ gatewayId: 'gw-x', connId: 1, userId: 7 })).toBe(false);
    expect((await store.lookup([7])).get(7)).toHaveLength(1);
    expect(await store.gatewayIds()).toEqual(['gw-a']);
  });

  it('purges exactly one gateway and nothing else', async () => {
    await store.login({ gatewayId: 'gw-a', connId: 1, userId: 1, clientType: CLIENT_TYPE_WINDOWS });
    await store.login({ gatewayId: 'gw-a', connId: 2, userId: 2, clientType: CLIENT_TYPE_ANDROID });
    await store.login({ gatewayId: 'gw-a', connId: 3, userId: 1, clientType: CLIENT_TYPE_ANDROID });
    await store.login({ gatewayId: 'gw-b', connId: 1, userId: 1, clientType: CLIENT_TYPE_MAC });
    await store.login({ gatewayId: 'gw-b', connId: 4, userId: 3, clientType: CLIENT_TYPE_WINDOWS });
    // a gateway whose id has gw-a as a prefix must survive
    await store.login({ gatewayId: 'gw-a2', connId: 1, userId: 2, clientType: CLIENT_TYPE_WINDOWS });

    expect(await store.purgeGateway('gw-a')).toBe(3);

    const found = await store.lookup([1, 2, 3]);
    expect(found.get(1)).toEqual([{ gatewayId: 'gw-b', connId: 1, clientType: CLIENT_TYPE_MAC }]);
    expect(found.get(2)).toEqual([{ gatewayId: 'gw-a2', connId: 1, clientType: CLIENT_TYPE_WINDOWS }]);
    expect(found.get(3)).toEqual([{ gatewayId: 'gw-b', connId: 4, clientType: CLIENT_TYPE_WINDOWS }]);
    expect((await store.gatewayIds()).sort()).toEqual(['gw-a2', 'gw-b']);
    expect(await redis.exists(store.gatewayKey('gw-a'))).toBe(0);
    expect(await redis.scard(store.gatewayKey('gw-b'))).toBe(2);
  });

  it('concurrent and repeated purges are harmless', async () => {
    for (let i = 1; i <= 200; i++) {
      await store.login({ gatewayId: 'gw-a', connId: i, userId: 1000 + i, clientType: CLIENT_TYPE_WINDOWS });
    }
    await store.login({ gatewayId: 'gw-b', connId: 1, userId: 1001, clientType: CLIENT_TYPE_ANDROID });
    // two route instances reacting to the same etcd delete
    const otherRedis = redis.duplicate();
    const other = new SessionStore(otherRedis, prefix);
    try {
      const counts = await Promise.all([store.purgeGateway('gw-a'), other.purgeGateway('gw-a'), store.purgeGateway('gw-a')]);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(200);
    } finally {
      await otherRedis.quit();
    }
    expect(await store.purgeGateway('gw-a')).toBe(0);
    expect(await store.purgeGateway('never-seen')).toBe(0);
    const found = await store.lookup([1001, 1002]);
    expect(found.get(1001)).toEqual([{ gatewayId: 'gw-b', connId: 1, clientType: CLIENT_TYPE_ANDROID }]);
    expect(found.get(1002)).toEqual([]);
    expect(await store.gatewayIds()).toEqual(['gw-b']);
  });
});
