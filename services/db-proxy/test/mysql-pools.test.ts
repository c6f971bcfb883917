// The MySQL pools' guards against a real MariaDB: every connection runs with
// the pinned sql_mode (client-side escaping is only correct without
// NO_BACKSLASH_ESCAPES), a start-up check refuses a connection that is not
// pinned, and a full wait queue fails fast and is counted.
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { createPool } from 'mysql2/promise';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { refusalCount } from '@tiertalk/metrics';
import { errorCodeOf } from '@tiertalk/rpc';
import { assertSqlModePinned, createMysqlPools, PINNED_SQL_MODE, SqlModeError } from '../src/store/mysql';
import { unary } from '../src/unary';

const URL = 'mysql://root@127.0.0.1:3306';
const log = pino({ level: 'silent' });

it('every pooled connection runs with the pinned sql_mode', async () => {
  const pools = createMysqlPools(URL, undefined, { size: 2, queueLimit: 0 });
  try {
    const conns = await Promise.all([pools.master.getConnection(), pools.master.getConnection()]);
    for (const c of conns) {
      const [rows] = await c.query<RowDataPacket[]>('SELECT @@SESSION.sql_mode AS m');
      expect(rows[0].m).toBe(PINNED_SQL_MODE);
      c.release();
    }
    await expect(assertSqlModePinned(pools.writer, 'writer')).resolves.toBeUndefined();
  } finally {
    await pools.close();
  }
});

it('the start-up check refuses a connection whose mode has NO_BACKSLASH_ESCAPES', async () => {
  const pool = createPool({ uri: URL, connectionLimit: 1 });
  pool.on('connection', (conn) => {
    (conn as unknown as { query(sql: string): void }).query("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'");
  });
  try {
    await expect(assertSqlModePinned(pool, 'master')).rejects.toBeInstanceOf(SqlModeError);
  } finally {
    await pool.end();
  }
});

it('a request beyond the pool queue limit is answered RESOURCE_EXHAUSTED at once and counted', async () => {
  const pools = createMysqlPools(URL, undefined, { size: 1, queueLimit: 1 });
  let held: PoolConnection | undefined;
  try {
    held = await pools.master.getConnection();
    const method = unary('Probe', log, async () => {
      await pools.master.query('SELECT 1');
      return {};
    });
    const call = (): Promise<{ code?: number; details?: string } | null> =>
      new Promise((resolve) => method({ request: { userId: 7 } } as never, (err) => resolve(err as { code?: number; details?: string } | null)));
    const before = await refusalCount('mysql_pool_queue_full');
    const queued = call(); // waits for the held connection
    const refused = await call(); // the queue (1) is full
    expect(refused?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused?.details).toMatch(/busy/);
    expect(errorCodeOf(refused)).toBe('db_busy');
    expect(await refusalCount('mysql_pool_queue_full')).toBe(before + 1);
    held.release();
    held = undefined;
    expect(await queued).toBeNull();
  } finally {
    held?.release();
    await pools.close();
  }
});
