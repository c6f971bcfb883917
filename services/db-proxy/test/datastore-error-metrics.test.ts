// tt_mysql_errors_total and tt_redis_errors_total count what failed against a
// real MariaDB and a real (then killed) redis-server, by operation.
import { countMysqlErrors, sampleValue } from '@tiertalk/metrics';
import { PrivateRedis, testConfig, waitFor } from '@tiertalk/testkit';
import { createMysqlPools, createPinnedPool } from '../src/store/mysql';
import { createRedisInstances } from '../src/store/redis';

jest.setTimeout(30_000);

describe('tt_mysql_errors_total', () => {
  beforeAll(() => countMysqlErrors());

  it('counts failed queries and prepared statements by error code', async () => {
    const pools = createMysqlPools(testConfig.mysqlTestUrl, undefined, { size: 2, queueLimit: 0 });
    try {
      const parse = await sampleValue('tt_mysql_errors_total', { op: 'query', code: 'ER_PARSE_ERROR' });
      const missing = await sampleValue('tt_mysql_errors_total', { op: 'execute', code: 'ER_NO_SUCH_TABLE' });
      await expect(pools.master.query('SELEC 1')).rejects.toMatchObject({ code: 'ER_PARSE_ERROR' });
      await expect(pools.master.execute('SELECT * FROM tt_no_such_table WHERE id = ?', [1])).rejects.toMatchObject({ code: 'ER_NO_SUCH_TABLE' });
      await pools.master.query('SELECT 1');
      expect(await sampleValue('tt_mysql_errors_total', { op: 'query', code: 'ER_PARSE_ERROR' })).toBe(parse + 1);
      expect(await sampleValue('tt_mysql_errors_total', { op: 'execute', code: 'ER_NO_SUCH_TABLE' })).toBe(missing + 1);
    } finally {
      await pools.close();
    }
  });

  it('counts a server that cannot be reached as a failed connect and a failed pool checkout', async () => {
    const pool = createPinnedPool('mysql://root@127.0.0.1:1/teamtalk', { size: 1, queueLimit: 0 });
    try {
      const connect = await sampleValue('tt_mysql_errors_total', { op: 'connect', code: 'ECONNREFUSED' });
      const checkout = await sampleValue('tt_mysql_errors_total', { op: 'pool_connect', code: 'ECONNREFUSED' });
      await expect(pool.query('SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      expect(await sampleValue('tt_mysql_errors_total', { op: 'connect', code: 'ECONNREFUSED' })).toBe(connect + 1);
      expect(await sampleValue('tt_mysql_errors_total', { op: 'pool_connect', code: 'ECONNREFUSED' })).toBe(checkout + 1);
    } finally {
      await pool.end();
    }
  });

  it('labels each failure with the server it went to (db-proxy may use several: TT_MYSQL_SHARDS)', async () => {
    const down = createPinnedPool('mysql://root@127.0.0.1:1/teamtalk', { size: 1, queueLimit: 0 });
    const up = createMysqlPools(testConfig.mysqlTestUrl, undefined, { size: 1, queueLimit: 0 });
    const upServer = `${new URL(testConfig.mysqlTestUrl).hostname}:${new URL(testConfig.mysqlTestUrl).port || '3306'}`;
    try {
      const downBefore = await sampleValue('tt_mysql_errors_total', { server: '127.0.0.1:1' });
      const upBefore = await sampleValue('tt_mysql_errors_total', { server: upServer, code: 'ER_PARSE_ERROR' });
      await expect(down.query('SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await expect(up.master.query('SELEC 1')).rejects.toMatchObject({ code: 'ER_PARSE_ERROR' });
      expect(await sampleValue('tt_mysql_errors_total', { server: '127.0.0.1:1' })).toBeGreaterThan(downBefore);
      expect(await sampleValue('tt_mysql_errors_total', { server: upServer, code: 'ER_PARSE_ERROR' })).toBe(upBefore + 1);
      expect(await sampleValue('tt_mysql_errors_total', { server: '127.0.0.1:1', code: 'ER_PARSE_ERROR' })).toBe(0);
    } finally {
      await Promise.all([down.end(), up.close()]);
    }
  });
});

describe('tt_redis_errors_total', () => {
  it('counts failed commands by command, and connection errors once Redis is gone', async () => {
    const server = await PrivateRedis.start();
    const url = server.url();
    const instances = createRedisInstances({ unread: url, groupSet: url, token: url, sync: url, groupMember: url });
    const redis = 'unread+group_set+token+sync+group_member';
    try {
      await instances.unread.set('tt_probe', 'a string');
      await expect(instances.unread.hincrby('tt_probe', 'f', 1)).rejects.toThrow(/WRONGTYPE/);
      expect(await sampleValue('tt_redis_errors_total', { redis, op: 'hincrby' })).toBe(1);
      expect(await sampleValue('tt_redis_errors_total', { redis })).toBe(1);

      await server.stop();
      await waitFor(async () => (await sampleValue('tt_redis_errors_total', { redis, op: 'connection' })) > 0, 10_000, { what: 'a connection error counted' });
      await expect(instances.unread.get('tt_probe')).rejects.toThrow();
      expect(await sampleValue('tt_redis_errors_total', { redis, op: 'get' })).toBe(1);
      // Back, so the client reconnects and quits cleanly (QUIT does not stop ioredis reconnecting to a server that is gone).
      await server.start();
      await instances.unread.ping();
    } finally {
      await instances.close();
      await server.destroy();
    }
  });
});
