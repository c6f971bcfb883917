// A throwaway TeamTalk database and a Redis db for the offline-message,
// session and message-id tests (claimed per fixture, so no other test file or
// run shares it; flushed before and after). Real MariaDB and Redis, never mocks.
import Redis from 'ioredis';
import pino from 'pino';
import { createPool, Pool, RowDataPacket } from 'mysql2/promise';
import { IM } from '@tiertalk/proto';
import { claimRedisDbs } from '@tiertalk/testkit';
import { MessageCommitter, StoreOutcome } from '../src/handlers/message/message-committer';
import { createOfflineStores, OfflineStores } from '../src/handlers/message/offline-stores';
import { CounterOutbox } from '../src/store/counter-outbox';
import { IdempotencyStore } from '../src/store/idempotency';
import { KnownUsers } from '../src/store/known-users';
import { MessageIdAllocator } from '../src/store/message-ids';
import { createPinnedPool, type MysqlPools } from '../src/store/mysql';
import type { ShardPlacement } from '../src/store/shard-map';
import { MessageShardServers, mainServer, remoteServer } from '../src/store/shard-servers';
import { oneRedisForAll, type RedisInstances } from '../src/store/redis';
import { RelationStore } from '../src/store/relations';
import { ensureDatabase, MIGRATIONS_DIR, runMigrations, seedDemo } from '../src/store/migrate';

const MYSQL_ROOT = 'mysql://root@127.0.0.1:3306';
export const AES_KEY = '12345678901234567890123456789012';

export const silentLog = pino({ level: 'silent' });

/** One db-proxy instance's view: its own pools and Redis connection, as a second process would have. */
export interface Instance {
  mysql: MysqlPools;
  redis: RedisInstances;
  stores: OfflineStores;
  committer: MessageCommitter;
  counterOutbox: CounterOutbox;
  store(from: number, to: number, data: string | Uint8Array, type?: IM.BaseDefine.MsgType, idemKey?: string): Promise<StoreOutcome>;
  close(): Promise<void>;
}

export interface InstanceOptions {
  convIndexLimit?: number;
  readOnlyWriter?: boolean;
  /** SQL run on every new connection of the message writer (e.g. a short lock wait timeout). */
  writerSessionSql?: string;
  /** The message writer connects here instead of the database itself (e.g. through a link the test can cut). */
  writerUrl?: string;
  dedupeWindowSec?: number;
  /** The Redis the counter outbox applies to (default: the test db), e.g. one that is down. */
  counterRedisUrl?: string;
  /** 1:1 receivers must be IMUser ids, as in db-proxy (most tests store between ids without users). */
  checkReceivers?: boolean;
  /** Message shards on other databases/servers (TT_MYSQL_SHARDS), each with its own pools as in db-proxy. */
  shardPlacements?: readonly ShardPlacement[];
  /** Commit lanes (TT_STORE_COMMIT_LANES); the writer pool gets a connection per lane, as in db-proxy. */
  lanes?: number;
}

export interface OfflineFixture {
  dbName: string;
  /** Root-level pool on the test database, for assertions. */
  pool: Pool;
  /** A Redis connection to the test db, for assertions and flushes. */
  redis: Redis;
  ids: Record<'alice' | 'bob' | 'carol' | 'dave', number>;
  /** MySQL URL of the test database. */
  url: string;
  instance(opts?: InstanceOptions): Instance;
  close(): Promise<void>;
}

export async function openOfflineFixture(dbName: string): Promise<OfflineFixture> {
  const admin = createPool({ uri: MYSQL_ROOT, connectionLimit: 1 });
  await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
  await admin.end();
  await ensureDatabase(MYSQL_ROOT, dbName);
  const url = `${MYSQL_ROOT}/${dbName}`;
  const pool = createPool({ uri: url, connectionLimit: 4, charset: 'utf8mb4' });
  await runMigrations(pool, MIGRATIONS_DIR, { info: () => undefined });
  await seedDemo(pool);
  const [rows] = await pool.query<RowDataPacket[]>('SELECT id, name FROM IMUser');
  const byName = new Map(rows.map((r) => [String(r.name), Number(r.id)]));
  const id = (name: string): number => {
    const v = byName.get(name);
    if (v === undefined) throw new Error(`demo user ${name} missing`);
    return v;
  };
  const redisDb = await claimRedisDbs(1);
  const [redisUrl] = redisDb.urls;
  const redis = new Redis(redisUrl);
  const instances: Instance[] = [];

  const instance = (opts: InstanceOptions = {}): Instance => {
    // As db-proxy's own pools (store/mysql.ts): pinned sql_mode, one statement per query.
    const master = createPinnedPool(url, { size: 4, queueLimit: 0 });
    const writer = createPinnedPool(opts.writerUrl ?? url, { size: Math.max(2, opts.lanes ?? 1), queueLimit: 0 });
    if (opts.writerSessionSql !== undefined) {
      const sql = opts.writerSessionSql;
      writer.on('connection', (conn) => {
        conn.query(sql);
      });
    }
    if (opts.readOnlyWriter) {
      // A real MySQL refusal inside the message transaction (a statement error, the connection stays usable).
      writer.on('connection', (conn) => {
        conn.query('SET SESSION TRANSACTION READ ONLY');
      });
    }
    const remote = (opts.shardPlacements ?? []).map((p) =>
      remoteServer(p, createPinnedPool(p.url, { size: 4, queueLimit: 0 }), createPinnedPool(p.url, { size: 2, queueLimit: 0 })),
    );
    const mysql: MysqlPools = {
      master,
      writer,
      replica: master,
      shards: new MessageShardServers(mainServer(master, writer, opts.shardPlacements), remote),
      async close() {
        await Promise.all([master.end(), writer.end(), ...remote.flatMap((r) => [r.pool.end(), r.writer.end()])]);
      },
    };
    const client = new Redis(redisUrl);
    const redisInstances = oneRedisForAll(client);
    const stores = createOfflineStores(mysql, redisInstances, {
      convIndexLimit: opts.convIndexLimit ?? 100,
      convIndexTtlSec: 604800,
      aesKey: AES_KEY,
    });
    const counterClient =
      opts.counterRedisUrl === undefined ? client : new Redis(opts.counterRedisUrl, { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
    const counterOutbox = new CounterOutbox(master, counterClient, { repairIntervalMs: 60_000, repairGraceSec: 0, onError: () => undefined });
    const committer = new MessageCommitter({
      writer,
      master,
      shards: mysql.shards,
      counterOutbox,
      idempotency: new IdempotencyStore(master),
      dedupeWindowSec: opts.dedupeWindowSec ?? 300,
      relations: new RelationStore(master),
      ids: new MessageIdAllocator(client, master),
      sessions: stores.sessionWriter,
      audio: stores.audio,
      conversations: stores.conversations,
      log: silentLog,
      batchMax: 1000,
      lanes: opts.lanes ?? 1,
      ...(opts.checkReceivers ? { receivers: new KnownUsers(master) } : {}),
    });
    const inst: Instance = {
      mysql,
      redis: redisInstances,
      stores,
      committer,
      counterOutbox,
      store: (from, to, data, type = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT, idemKey) =>
        new Promise((resolve) =>
          committer.submit({
            ...(idemKey === undefined ? {} : { idemKey }),
            msg: {
              fromUserId: from,
              toSessionId: to,
              msgId: 0,
              createTime: Math.floor(Date.now() / 1000),
              msgType: type,
              msgData: typeof data === 'string' ? Buffer.from(data, 'utf8') : data,
            },
            done: resolve,
          }),
        ),
      async close() {
        const at = instances.indexOf(inst);
        if (at < 0) return;
        instances.splice(at, 1);
        await committer.idle();
        await counterOutbox.stop();
        if (counterClient !== client) counterClient.disconnect();
        await Promise.all([mysql.close(), redisInstances.close()]);
      },
    };
    instances.push(inst);
    return inst;
  };

  return {
    dbName,
    pool,
    redis,
    url,
    ids: { alice: id('alice'), bob: id('bob'), carol: id('carol'), dave: id('dave') },
    instance,
    async close() {
      await Promise.all([...instances].map((i) => i.close()));
      redis.disconnect();
      await redisDb.release();
      await pool.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
      await pool.end();
    },
  };
}

/** Every stored 1:1 message id of a pair, ascending. */
export async function storedIds(pool: Pool, a: number, b: number): Promise<number[]> {
  const [rel] = await pool.query<RowDataPacket[]>('SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ? AND status = 0', [
    Math.min(a, b),
    Math.max(a, b),
  ]);
  if (rel.length === 0) return [];
  const relateId = Number(rel[0].id);
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT msgId FROM IMMessage_${relateId % 8} WHERE relateId = ? ORDER BY msgId`, [relateId]);
  return rows.map((r) => Number(r.msgId));
}
