// Message shards on another server (TT_MYSQL_SHARDS) at the store level: the
// odd shards live in a second database with its own pools (as a second server
// would: db-proxy keys servers by host:port/database). One batch mixing both
// servers is still one commit; rows, reads and idempotent retries go where the
// map says; the start-up check refuses a server without its tables and a
// master that still holds rows of a shard mapped away. test/e2e/mysql-shards
// runs the same against a second MariaDB process.
import { createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import { sampleValue } from '@tiertalk/metrics';
import { tiertalk } from '@tiertalk/proto';
import { ensureDatabase, MIGRATIONS_DIR, runMigrations } from '../src/store/migrate';
import { checkShardPlacement, ShardMapError } from '../src/store/shard-servers';
import { Instance, openOfflineFixture, OfflineFixture } from './offline-fixture';

jest.setTimeout(60_000);

const { STORE_OK } = tiertalk.StoreResult;
const ROOT = 'mysql://root@127.0.0.1:3306';
const SHARD_DB = 'a_tt_dbproxy_shards_remote';
const ODD = [1, 3, 5, 7];
const onRemote = (conversationId: number): boolean => ODD.includes(conversationId % 8);

let fx: OfflineFixture;
let remote: Pool;
let instance: Instance;

async function relationOf(a: number, b: number): Promise<number> {
  const [rows] = await fx.pool.query<RowDataPacket[]>('SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ? AND status = 0', [Math.min(a, b), Math.max(a, b)]);
  return Number(rows[0].id);
}

async function contents(pool: Pool, relateId: number): Promise<string[]> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT content FROM IMMessage_${relateId % 8} WHERE relateId = ? ORDER BY msgId`, [relateId]);
  return rows.map((r) => String(r.content));
}

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_shards_main');
  const admin = createPool({ uri: ROOT, connectionLimit: 1 });
  await admin.query(`DROP DATABASE IF EXISTS ${SHARD_DB}`);
  await admin.end();
  await ensureDatabase(ROOT, SHARD_DB);
  remote = createPool({ uri: `${ROOT}/${SHARD_DB}`, connectionLimit: 2 });
});

afterAll(async () => {
  await instance?.close();
  await remote?.query(`DROP DATABASE IF EXISTS ${SHARD_DB}`);
  await remote?.end();
  await fx?.close();
});

it('refuses a shard server without its tables, and starts once migrations ran there', async () => {
  const unmigrated = fx.instance({ shardPlacements: [{ shards: ODD, url: `${ROOT}/${SHARD_DB}` }] });
  try {
    await expect(checkShardPlacement(unmigrated.mysql.shards)).rejects.toThrow(ShardMapError);
    await expect(checkShardPlacement(unmigrated.mysql.shards)).rejects.toThrow(/shard 1 is mapped to 127\.0\.0\.1:3306\/a_tt_dbproxy_shards_remote, but IMMessage_1 cannot be read there.*run migrate-main/);
    await runMigrations(remote, MIGRATIONS_DIR, { info: () => undefined });
    await expect(checkShardPlacement(unmigrated.mysql.shards)).resolves.toBeUndefined();
  } finally {
    await unmigrated.close();
  }
  instance = fx.instance({ shardPlacements: [{ shards: ODD, url: `${ROOT}/${SHARD_DB}` }] });
  expect(instance.mysql.shards.all.map((server) => [server.name, server.shards])).toEqual([
    ['main', [0, 2, 4, 6]],
    [`127.0.0.1:3306/${SHARD_DB}`, ODD],
  ]);
});

it('one batch over both servers is one commit; each row lands on its shard server; reads find them there', async () => {
  const commitsBefore = await sampleValue('tt_store_commit_batch_messages_count');
  const pairs = Array.from({ length: 16 }, (_, i) => [5000 + i, 6000 + i] as const);
  const outcomes = await Promise.all(pairs.map(([from, to]) => instance.store(from, to, `m ${from}`)));
  expect(outcomes.map((o) => [o.result, o.msgId])).toEqual(pairs.map(() => [STORE_OK, 1]));
  // The first message commits alone; the 15 that queued meanwhile ride in one more commit.
  expect((await sampleValue('tt_store_commit_batch_messages_count')) - commitsBefore).toBeLessThanOrEqual(2);

  const relations = await Promise.all(pairs.map(([from, to]) => relationOf(from, to)));
  expect(relations.filter(onRemote).length).toBeGreaterThanOrEqual(7);
  for (const [i, relateId] of relations.entries()) {
    const [holder, other] = onRemote(relateId) ? [remote, fx.pool] : [fx.pool, remote];
    expect(await contents(holder, relateId)).toEqual([`m ${pairs[i][0]}`]);
    expect(await contents(other, relateId)).toEqual([]);
  }
  const latest = await instance.stores.messages.latest(relations);
  expect([...latest.values()].map((m) => m.content).sort()).toEqual(pairs.map(([from]) => `m ${from}`).sort());
  const remoteOne = relations.findIndex(onRemote);
  expect((await instance.stores.messages.page(relations[remoteOne], 0, 10)).map((m) => m.content)).toEqual([`m ${pairs[remoteOne][0]}`]);
  expect((await instance.stores.messages.byIds(relations[remoteOne], [1], 10)).map((m) => m.msgId)).toEqual([1]);
});

it('a retried send to a remote shard (same idempotency key) is answered with the first id and stored once', async () => {
  const from = 7000;
  // A peer whose relation with the sender lands on the remote server.
  let peer = 7000;
  let relateId = 0;
  while (!onRemote(relateId)) {
    peer += 1;
    await instance.store(from, peer, 'hello');
    relateId = await relationOf(from, peer);
  }
  const first = await instance.store(from, peer, 'once', undefined, 'key-1');
  const again = await instance.store(from, peer, 'once', undefined, 'key-1');
  expect(first).toMatchObject({ result: STORE_OK, msgId: 2 });
  expect(again).toMatchObject({ result: STORE_OK, msgId: 2 });
  expect(await contents(remote, relateId)).toEqual(['hello', 'once']);
  // The key is on both servers: the shard server's (written with the row) and the master's.
  for (const pool of [remote, fx.pool]) {
    const [rows] = await pool.query<RowDataPacket[]>("SELECT msgId FROM IMMsgIdempotency WHERE fromId = ? AND idemKey = 'key-1'", [from]);
    expect(rows.map((r) => Number(r.msgId))).toEqual([2]);
  }
});

it('refuses to start while the master still holds rows of a shard mapped away', async () => {
  await fx.pool.query("INSERT INTO IMMessage_3 (relateId, fromId, toId, msgId, content, type, status, created, updated) VALUES (3, 1, 2, 1, 'left behind', 1, 0, 1, 1)");
  try {
    await expect(checkShardPlacement(instance.mysql.shards)).rejects.toThrow(/shard 3 is mapped to .*but the main server still holds rows in IMMessage_3/);
  } finally {
    await fx.pool.query("DELETE FROM IMMessage_3 WHERE content = 'left behind'");
  }
});
