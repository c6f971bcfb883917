// A throwaway TeamTalk database plus Redis db 6 for the user-directory and
// push-settings tests: real MariaDB and Redis, never mocks.
import Redis from 'ioredis';
import pino from 'pino';
import { createPool, Pool, RowDataPacket } from 'mysql2/promise';
import { ensureDatabase, MIGRATIONS_DIR, runMigrations, seedDemo } from '../src/store/migrate';

const MYSQL_ROOT = 'mysql://root@127.0.0.1:3306';
// Redis db 6 belongs to these tests (issue-4 split); it is flushed before and after.
const REDIS_URL = `redis://${process.env.TT_TEST_REDIS_ADDR || '127.0.0.1:6379'}/${process.env.TT_TEST_REDIS_DB || '6'}`;

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
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  return {
    pool,
    redis,
    ids: { alice: id('alice'), bob: id('bob'), carol: id('carol'), dave: id('dave') },
    async close() {
      await redis.flushdb();
      redis.disconnect();
      await pool.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
      await pool.end();
    },
  };
}
