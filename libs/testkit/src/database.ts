// The shared test database and Redis dbs. The schema comes from the real
// migration CLI (built), so tests run against exactly what `make up` deploys.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { repoRoot, testConfig } from './config';

const run = promisify(execFile);

export const MIGRATE_MAIN = path.join(repoRoot, 'services', 'db-proxy', 'dist', 'migrate-main.js');

const DB_NAME = /^[A-Za-z0-9_]{1,64}$/;

/**
 * Drops and recreates the test database, applies the migrations and seeds the
 * demo users (alice, bob, carol, dave / "tiertalk"). Returns its URL.
 */
export async function prepareTestDatabase(
  dbName: string = testConfig.mysqlTestDb,
  /** Another server (e.g. a PrivateMariaDb's url()); default the machine's. */
  rootUrl: string = testConfig.mysqlRootUrl,
): Promise<string> {
  if (!DB_NAME.test(dbName)) throw new Error(`prepareTestDatabase: invalid database name ${JSON.stringify(dbName)}`);
  if (!existsSync(MIGRATE_MAIN)) {
    throw new Error(`prepareTestDatabase: ${MIGRATE_MAIN} is missing; run \`npm run build\` (make test does) first`);
  }
  const conn = await createConnection(rootUrl);
  try {
    await conn.query(`DROP DATABASE IF EXISTS ${conn.escapeId(dbName)}`);
  } finally {
    await conn.end();
  }
  const url = `${rootUrl}/${dbName}`;
  try {
    await run(process.execPath, [MIGRATE_MAIN, '--seed-demo'], {
      cwd: repoRoot,
      env: { ...process.env, TT_MYSQL_MASTER_URL: url, TT_MYSQL_MIGRATE_URL: url },
      timeout: 60_000,
    });
  } catch (err) {
    const detail = err instanceof Error && 'stderr' in err ? String(err.stderr) : String(err);
    throw new Error(`prepareTestDatabase: migrate-main failed: ${detail}`);
  }
  return url;
}

/** FLUSHDB on the Redis dbs tests use (10: db-proxy, 11: route sessions). */
export async function flushTestRedis(): Promise<void> {
  for (const db of [testConfig.dbProxyRedisDb, testConfig.routeRedisDb]) {
    const redis = new Redis(testConfig.redisUrl(db), { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      await redis.flushdb();
    } finally {
      redis.disconnect();
    }
  }
}
