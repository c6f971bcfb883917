import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { IM } from '@tiertalk/proto';
import { RegistryEpochMismatch, SessionStore } from './session-store';
import { redisDbsForFile } from '@tiertalk/testkit';

// Real Redis (a db claimed for this file), a key prefix of our own (style.md: no mocks of Redis).
// A db of the test Redis claimed for this file, so no other test file or run shares it.
const redisDb = redisDbsForFile({ beforeAll, afterAll });
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
    redis = new Redis(redisDb.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
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

  it('a lookup with the expected epoch refuses a registry whose epoch changed (flushed while up)', async () => {
    await store.login({ gatewayId: 'gw-a', connId: 1, userId: 7, clientType: CLIENT_TYPE_WINDOWS });
    expect(await store.claimEpoch('e1')).toBe(true);
    expect((await store.lookup([7], 'e1')).get(7)).toEqual([{ gatewayId: 'gw-a', connId: 1, clientType: CLIENT_TYPE_WINDOWS }]);
    // What a FLUSHALL does to our keys: sessions and epoch gone together.
    await deleteKeys(redis, prefix);
    await expect(store.lookup([7], 'e1')).rejects.toBeInstanceOf(RegistryEpochMismatch);
    // Without an expected epoch (before the first check) the lookup answers as before.
    expect((await store.lookup([7])).get(7)).toEqual([]);
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

    expect((await store.purgeGateway('gw-a')).removed).toBe(3);

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
      const results = await Promise.all([store.purgeGateway('gw-a'), other.purgeGateway('gw-a'), store.purgeGateway('gw-a')]);
      expect(results.reduce((a, b) => a + b.removed, 0)).toBe(200);
      // each departed user is reported by exactly one of them (the one that removed the session)
      const reported = results.flatMap((r) => r.departures.map((d) => d.userId)).sort((a, b) => a - b);
      expect(reported).toEqual(Array.from({ length: 200 }, (_, i) => 1001 + i));
    } finally {
      await otherRedis.quit();
    }
    expect((await store.purgeGateway('gw-a')).removed).toBe(0);
    expect((await store.purgeGateway('never-seen')).removed).toBe(0);
    const found = await store.lookup([1001, 1002]);
    expect(found.get(1001)).toEqual([{ gatewayId: 'gw-b', connId: 1, clientType: CLIENT_TYPE_ANDROID }]);
    expect(found.get(1002)).toEqual([]);
    expect(await store.gatewayIds()).toEqual(['gw-b']);
  });

  it('reports what a purge removed per user, with the sessions that remain', async () => {
    await store.login({ gatewayId: 'gw-a', connId: 1, userId: 1, clientType: CLIENT_TYPE_WINDOWS });
    await store.login({ gatewayId: 'gw-a', connId: 2, userId: 1, clientType: CLIENT_TYPE_ANDROID });
    await store.login({ gatewayId: 'gw-b', connId: 3, userId: 1, clientType: CLIENT_TYPE_MAC });
    await store.login({ gatewayId: 'gw-a', connId: 4, userId: 2, clientType: CLIENT_TYPE_WINDOWS });
    const small = new SessionStore(redis, prefix, { chunkSize: 1 });
    const { removed, departures } = await small.purgeGateway('gw-a');
    expect(removed).toBe(3);
    const byUser = new Map(departures.map((d) => [d.userId, d]));
    expect(byUser.size).toBe(2);
    // chunks of one: user 1's two sessions are two departures, the later one sees only gw-b left
    const user1 = departures.filter((d) => d.userId === 1);
    expect(user1.flatMap((d) => d.removedTypes).sort()).toEqual([CLIENT_TYPE_WINDOWS, CLIENT_TYPE_ANDROID].sort());
    expect(user1[user1.length - 1]?.remaining).toEqual([{ gatewayId: 'gw-b', connId: 3, clientType: CLIENT_TYPE_MAC }]);
    expect(byUser.get(2)).toEqual({ userId: 2, removedTypes: [CLIENT_TYPE_WINDOWS], remaining: [] });
    expect(await store.gatewayIds()).toEqual(['gw-b']);
  });

  it('makes a gateway hold exactly the synced sessions, in chunks', async () => {
    const small = new SessionStore(redis, prefix, { chunkSize: 3 });
    // registered by an earlier sync (not a login), so not protected as a fresh login
    await small.syncGateway('gw-a', [
      { gatewayId: 'gw-a', connId: 1, userId: 1, clientType: CLIENT_TYPE_WINDOWS },
      { gatewayId: 'gw-a', connId: 2, userId: 2, clientType: CLIENT_TYPE_WINDOWS },
      { gatewayId: 'gw-a', connId: 9, userId: 9, clientType: CLIENT_TYPE_ANDROID },
    ]);
    await store.login({ gatewayId: 'gw-b', connId: 1, userId: 1, clientType: CLIENT_TYPE_ANDROID });
    const listed = Array.from({ length: 10 }, (_, i) => ({ gatewayId: 'gw-a', connId: i + 1, userId: i + 1, clientType: CLIENT_TYPE_MAC }));
    listed.splice(8, 1); // conn 9 is a ghost the gateway no longer holds
    const r = await small.syncGateway('gw-a', listed);
    // 1 and 2 changed type in place (not added), 3..8 and 10 added, 9 removed
    expect([r.added, r.removed]).toEqual([7, 1]);
    expect(r.departures).toEqual([{ userId: 9, removedTypes: [CLIENT_TYPE_ANDROID], remaining: [] }]);
    const found = await store.lookup([1, 9, 10]);
    expect(found.get(1)?.sort((x, y) => x.gatewayId.localeCompare(y.gatewayId))).toEqual([
      { gatewayId: 'gw-a', connId: 1, clientType: CLIENT_TYPE_MAC },
      { gatewayId: 'gw-b', connId: 1, clientType: CLIENT_TYPE_ANDROID },
    ]);
    expect(found.get(9)).toEqual([]);
    expect(found.get(10)).toEqual([{ gatewayId: 'gw-a', connId: 10, clientType: CLIENT_TYPE_MAC }]);
    expect(await redis.scard(store.gatewayKey('gw-a'))).toBe(9);
    // a repeat changes nothing; an empty list empties the gateway
    expect(await small.syncGateway('gw-a', listed)).toMatchObject({ added: 0, removed: 0 });
    expect(await small.syncGateway('gw-a', [])).toMatchObject({ added: 0, removed: 9 });
    expect(await store.gatewayIds()).toEqual(['gw-b']);
    expect((await store.lookup([1])).get(1)).toEqual([{ gatewayId: 'gw-b', connId: 1, clientType: CLIENT_TYPE_ANDROID }]);
    // no candidate set is left behind
    expect(await redis.keys(`${prefix}synccand:*`)).toEqual([]);
  });

  it('syncs 15,000 sessions of one gateway', async () => {
    const listed = Array.from({ length: 15_000 }, (_, i) => ({ gatewayId: 'gw-big', connId: i + 1, userId: 100_000 + i, clientType: CLIENT_TYPE_WINDOWS }));
    expect(await store.syncGateway('gw-big', listed)).toMatchObject({ added: 15_000, removed: 0 });
    expect(await store.syncGateway('gw-big', listed.slice(5_000))).toMatchObject({ added: 0, removed: 5_000 });
    expect(await redis.scard(store.gatewayKey('gw-big'))).toBe(10_000);
    expect((await store.lookup([100_000, 114_999])).get(114_999)).toHaveLength(1);
    expect((await store.purgeGateway('gw-big')).removed).toBe(10_000);
  });

  it('never removes a session that logged in while the gateway was listing', async () => {
    await store.syncGateway('gw-a', [{ gatewayId: 'gw-a', connId: 1, userId: 1, clientType: CLIENT_TYPE_WINDOWS }]);
    // the gateway's list was taken before this login reached route
    await store.login({ gatewayId: 'gw-a', connId: 2, userId: 2, clientType: CLIENT_TYPE_WINDOWS });
    expect(await store.syncGateway('gw-a', [{ gatewayId: 'gw-a', connId: 1, userId: 1, clientType: CLIENT_TYPE_WINDOWS }])).toMatchObject({ removed: 0 });
    expect((await store.lookup([2])).get(2)).toHaveLength(1);
    // once the login is older than the grace, a sync that does not list it removes it (a ghost)
    await redis.zadd(`${prefix}gwfresh:gw-a`, Date.now() - 60_000, '2/2');
    expect(await store.syncGateway('gw-a', [{ gatewayId: 'gw-a', connId: 1, userId: 1, clientType: CLIENT_TYPE_WINDOWS }])).toMatchObject({ removed: 1 });
    expect((await store.lookup([2])).get(2)).toEqual([]);
  });

  it('rebuilds quietly on a gateway\'s first sync in an epoch and reports arrivals after', async () => {
    expect(await store.readEpoch()).toBeNull();
    expect(await store.claimEpoch('e1')).toBe(true);
    expect(await store.claimEpoch('e2')).toBe(false);
    expect(await store.readEpoch()).toBe('e1');
    await store.login({ gatewayId: 'gw-b', connId: 5, userId: 1, clientType: CLIENT_TYPE_ANDROID });
    const pc = { gatewayId: 'gw-a', connId: 1, userId: 1, clientType: CLIENT_TYPE_WINDOWS };
    const first = await store.syncGateway('gw-a', [pc]);
    expect(first).toMatchObject({ rebuild: true, added: 1, arrivals: [] });
    expect(await store.syncedGateways('e1', ['gw-a', 'gw-b'])).toEqual(new Set(['gw-a']));
    // purged (say its lease lapsed), then synced again: an arrival, with the sessions before it
    await store.purgeGateway('gw-a');
    const again = await store.syncGateway('gw-a', [pc]);
    expect(again).toMatchObject({ rebuild: false, added: 1 });
    expect(again.arrivals).toEqual([{ userId: 1, connId: 1, clientType: CLIENT_TYPE_WINDOWS, before: [{ gatewayId: 'gw-b', connId: 5, clientType: CLIENT_TYPE_ANDROID }] }]);
  });

  it('marks gateways seen on login and sync, with an expiry', async () => {
    const short = new SessionStore(redis, prefix, { seenTtlMs: 60_000 });
    await short.login({ gatewayId: 'gw-a', connId: 1, userId: 1, clientType: CLIENT_TYPE_WINDOWS });
    await short.syncGateway('gw-b', [{ gatewayId: 'gw-b', connId: 1, userId: 2, clientType: CLIENT_TYPE_WINDOWS }]);
    await store.login({ gatewayId: 'gw-c', connId: 1, userId: 3, clientType: CLIENT_TYPE_WINDOWS });
    await redis.del(store.seenKey('gw-c'));
    expect(await short.unseenGateways(['gw-a', 'gw-b', 'gw-c'])).toEqual(['gw-c']);
    const ttl = await redis.pttl(store.seenKey('gw-b'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
