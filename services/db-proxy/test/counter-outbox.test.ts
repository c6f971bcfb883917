// Committed means OK (issue 10): unread counters follow a message commit
// through the IMCounterOutbox table, so a Redis failure after COMMIT neither
// fails the send nor loses the count, and re-applying never double-counts.
// Real MariaDB and Redis; the failing Redis is a port nobody listens on.
import type { RowDataPacket } from 'mysql2/promise';
import { tiertalk } from '@tiertalk/proto';
import type { Cluster } from 'ioredis';
import { closeRedisClient, createRedisClient, type RedisClient } from '@tiertalk/redis';
import { PrivateRedisCluster, waitFor } from '@tiertalk/testkit';
import { CounterOutbox, decodeDeltas } from '../src/store/counter-outbox';
import { openOfflineFixture, OfflineFixture, silentLog } from './offline-fixture';

const { STORE_OK } = tiertalk.StoreResult;
const REDIS_DOWN = 'redis://127.0.0.1:1/0';
let fx: OfflineFixture;

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_counter_outbox_test');
});
afterAll(async () => {
  await fx.close();
});

async function outboxRows(): Promise<Array<{ id: string; deltas: string }>> {
  const [rows] = await fx.pool.query<RowDataPacket[]>('SELECT id, deltas FROM IMCounterOutbox ORDER BY created, id');
  return rows.map((r) => ({ id: String(r.id), deltas: String(r.deltas) }));
}

function healthyOutbox(): CounterOutbox {
  return new CounterOutbox(fx.pool, fx.redis, {
    repairIntervalMs: 60_000,
    repairGraceSec: 0,
    onError: (err, what) => silentLog.error({ err }, what),
  });
}

describe('counters after a commit', () => {
  it('are applied before the answer and their outbox row is deleted', async () => {
    const inst = fx.instance();
    expect(await inst.store(4001, 4002, 'hi')).toEqual({ result: STORE_OK, msgId: 1 });
    expect(await fx.redis.hget('unread_4002', '4001')).toBe('1');
    await waitFor(async () => (await outboxRows()).length === 0, 5_000);
    await inst.close();
  });

  it('failing in Redis still answer STORE_OK; the repair job applies them once', async () => {
    const inst = fx.instance({ counterRedisUrl: REDIS_DOWN });
    const outcomes = await Promise.all([inst.store(4101, 4102, 'one'), inst.store(4101, 4102, 'two'), inst.store(4102, 4101, 'back')]);
    expect(outcomes.map((o) => [o.result, o.msgId])).toEqual([
      [STORE_OK, 1],
      [STORE_OK, 2],
      [STORE_OK, 3],
    ]);
    expect(await fx.redis.hget('unread_4102', '4101')).toBeNull();
    expect((await outboxRows()).length).toBeGreaterThan(0);

    const repair = healthyOutbox();
    await repair.repairOnce();
    expect(await fx.redis.hget('unread_4102', '4101')).toBe('2');
    expect(await fx.redis.hget('unread_4101', '4102')).toBe('1');
    expect(await outboxRows()).toEqual([]);
    await repair.repairOnce();
    expect(await fx.redis.hget('unread_4102', '4101')).toBe('2');
    await inst.close();
  });

  it('applied but not yet deleted (a crash in between) are not counted again by the repair job', async () => {
    const inst = fx.instance({ counterRedisUrl: REDIS_DOWN });
    expect((await inst.store(4201, 4202, 'one')).result).toBe(STORE_OK);
    const rows = await outboxRows();
    expect(rows).toHaveLength(1);
    expect(decodeDeltas(rows[0].deltas).unread).toEqual([{ toId: 4202, fromId: 4201, n: 1 }]);

    const survivor = healthyOutbox();
    // Applied to Redis; the process dies before it deletes the row.
    await survivor.apply(rows.map((r) => ({ id: r.id, deltas: decodeDeltas(r.deltas) })));
    expect(await fx.redis.hget('unread_4202', '4201')).toBe('1');
    // Another instance's repair job finds the row: applying it again changes nothing.
    await healthyOutbox().repairOnce();
    expect(await fx.redis.hget('unread_4202', '4201')).toBe('1');
    expect(await outboxRows()).toEqual([]);
    await inst.close();
  });
});

describe('on a Redis Cluster', () => {
  let redisCluster: PrivateRedisCluster;
  let client: RedisClient;

  beforeAll(async () => {
    redisCluster = await PrivateRedisCluster.start();
    client = createRedisClient(redisCluster.url(), { maxRetriesPerRequest: 1 });
  }, 60_000);
  afterAll(async () => {
    if (client) await closeRedisClient(client);
    await redisCluster?.destroy();
  });

  it('applies a row whose counters lie on several masters once per slot, however often it is applied', async () => {
    const outbox = new CounterOutbox(fx.pool, client, { repairIntervalMs: 60_000, repairGraceSec: 0, onError: (err, what) => silentLog.error({ err }, what) });
    const users = Array.from({ length: 12 }, (_, i) => 5001 + i);
    const entry = outbox.entryFor({
      unread: users.map((toId) => ({ toId, fromId: 5000, n: 2 })),
      groups: [{ groupId: 77, count: 3, senders: new Map([[5000, 1]]) }],
    });
    if (entry === undefined) throw new Error('an entry was expected');
    // Apply twice, as a repair after a crash between applying and deleting would.
    await outbox.apply([entry]);
    await outbox.apply([entry]);
    for (const uid of users) expect(await client.hget(`unread_${uid}`, '5000')).toBe('2');
    expect(await client.hget('{77}_im_group_msg', 'count')).toBe('3');
    expect(await client.hget('5000_{77}_im_user_group', 'count')).toBe('2');
    // The unread hashes really are spread over the masters (else this proves nothing about slots).
    const cluster = client as Cluster;
    expect(await Promise.all(cluster.nodes('master').map((n) => n.dbsize()))).not.toContain(0);
  });
});
