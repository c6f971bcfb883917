// Where tests find the real MariaDB, Redis and etcd. Redis dbs 10 and 11 keep
// tests away from a `make up` cluster on the same machine (dbs 1, 2, 3); they
// are shared by the tests that do not claim dbs of their own (redis-dbs.ts,
// which e2eSuite and the unit tests use).
import path from 'node:path';

/** Repository root; works from libs/testkit/src (jest) and libs/testkit/dist. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');

const MYSQL_ROOT_URL = 'mysql://root@127.0.0.1:3306';
// Overridable so that several developers (or agents) can run e2e suites side
// by side on one machine without sharing a database or Redis dbs.
// TT_TEST_REDIS_ADDR: another Redis (host:port) for side-by-side runs.
const REDIS_ADDR = process.env.TT_TEST_REDIS_ADDR || '127.0.0.1:6379';
const MYSQL_TEST_DB = process.env.TT_TEST_DB || 'teamtalk_test';
const envInt = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v >= 0 ? v : fallback;
};

export const testConfig = Object.freeze({
  mysqlRootUrl: MYSQL_ROOT_URL,
  mysqlTestDb: MYSQL_TEST_DB,
  /** The test database URL (what prepareTestDatabase() returns). */
  mysqlTestUrl: `${MYSQL_ROOT_URL}/${MYSQL_TEST_DB}`,
  etcdEndpoints: Object.freeze(
    (process.env.TT_TEST_ETCD || 'http://127.0.0.1:2379')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  ),
  /** db-proxy's unread, group_set, token, sync and group_member instances. */
  dbProxyRedisDb: envInt('TT_TEST_REDIS_DB', 10),
  /** route's session registry. */
  routeRedisDb: envInt('TT_TEST_ROUTE_REDIS_DB', 11),
  redisUrl(db: number): string {
    return `redis://${REDIS_ADDR}/${db}`;
  },
});
