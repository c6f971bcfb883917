// A throwaway TeamTalk database plus a Redis db (claimed per fixture, flushed
// before and after) for the user-directory and push-settings tests: real
// MariaDB and Redis, never mocks.
import Redis from 'ioredis';
import pino from 'pino';
import { createPool, Pool, RowDataPacket } from 'mysql2/promise';
import { claimRedisDbs } from '@tiertalk/testkit';
import { ensureDatabase, MIGRATIONS_DIR, runMigrations, seedDemo } from '../src/store/migrate';

const MYSQL_ROOT = 'mysql://root@127.0.0.1:3306';

export const silentLog = pino({ level: 'silent' });

export interface DirectoryFixture {
  pool: Pool;
  redis: Redis;
  /** Demo user ids by name. */
  ids: Record<'alice' | 'bob' | 'carol' | 'dave', number>;
  close(): Promise<void>;
}

export async function openDirectoryFixture(dbName: string): Promise<DirectoryFixture> {
  const admin = createPool({ uri: MYSQL_ROOT, connectionLimit: 1 });
  await admin.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
  await admin.end();
  await ensureDatabase(MYSQL_ROOT, dbName);
  const pool = createPool({ uri: `${MYSQL_ROOT}/${dbName}`, connectionLimit: 4, charset: 'utf8mb4' });
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
  const redis = new Redis(redisDb.urls[0]);
  return {
    pool,
    redis,
    ids: { alice: id('alice'), bob: id('bob'), carol: id('carol'), dave: id('dave') },
    async close() {
      redis.disconnect();
      await redisDb.release();
      await pool.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
      await pool.end();
    },
  };
}
