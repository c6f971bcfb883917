// A throwaway TeamTalk database and Redis db (claimed per fixture) for db-proxy's store tests:
// real MariaDB and Redis, never mocks.
import Redis from 'ioredis';
import { createPool, Pool } from 'mysql2/promise';
import { claimRedisDbs } from '@tiertalk/testkit';
import { createPinnedPool } from '../src/store/mysql';
import { ensureDatabase, MIGRATIONS_DIR, runMigrations, seedDemo } from '../src/store/migrate';

export const MYSQL_ROOT = 'mysql://root@127.0.0.1:3306';

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
  const redisDb = await claimRedisDbs(1);
  const redis = new Redis(redisDb.urls[0]);
  return {
    pool,
    writer,
    redis,
    dbName,
    async close() {
      redis.disconnect();
      await redisDb.release();
      await writer.end();
      await pool.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
      await pool.end();
    },
  };
}
