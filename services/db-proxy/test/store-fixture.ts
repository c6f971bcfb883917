// A throwaway TeamTalk database and Redis db for db-proxy's store tests:
// real MariaDB and Redis, never mocks.
import Redis from 'ioredis';
import { createPool, Pool } from 'mysql2/promise';
import { createPinnedPool } from '../src/store/mysql';
import { ensureDatabase, MIGRATIONS_DIR, runMigrations, seedDemo } from '../src/store/migrate';

export const MYSQL_ROOT = 'mysql://root@127.0.0.1:3306';
export const REDIS_URL = process.env.TT_TEST_STORE_REDIS ?? `redis://${process.env.TT_TEST_REDIS_ADDR || '127.0.0.1:6379'}/13`;

export interface StoreFixture {
  pool: Pool;
  /** A pool as db-proxy's message writer's (pinned sql_mode, one statement per query). */
  writer: Pool;
  redis: Redis;
  dbName: string;
  close(): Promise<void>;
}

export async function openStoreFixture(dbName: string): Promise<StoreFixture> {
  const admin = createPool({ uri: MYSQL_ROOT, connectionLimit: 1 });
  await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
  await admin.end();
  await ensureDatabase(MYSQL_ROOT, dbName);
  const pool = createPool({ uri: `${MYSQL_ROOT}/${dbName}`, connectionLimit: 8, charset: 'utf8mb4' });
  const quiet = { info: () => undefined };
  await runMigrations(pool, MIGRATIONS_DIR, quiet);
  await seedDemo(pool);
  const writer = createPinnedPool(`${MYSQL_ROOT}/${dbName}`, { size: 2, queueLimit: 0 });
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  return {
    pool,
    writer,
    redis,
    dbName,
    async close() {
      await redis.flushdb();
      redis.disconnect();
      await writer.end();
      await pool.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
      await pool.end();
    },
  };
}
