// The message transaction is run again after a lock-wait timeout or a
// deadlock (store/transaction-runner.ts): another transaction holds a lock the
// commit needs; the first attempt times out, the retry gets through once the
// lock is released, and the sender gets STORE_OK with one row stored.
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { tiertalk } from '@tiertalk/proto';
import { sampleValue } from '@tiertalk/metrics';
import { waitFor } from '@tiertalk/testkit';
import { openOfflineFixture, OfflineFixture, storedIds } from './offline-fixture';

const { STORE_OK } = tiertalk.StoreResult;
let fx: OfflineFixture;

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_lock_retry_test');
});
afterAll(async () => {
  await fx.close();
});

/** Transactions of the test database in lock wait (the commit waiting for the blocker's key). */
async function waiters(): Promise<string[]> {
  const [rows] = await fx.pool.query<RowDataPacket[]>(
    "SELECT trx_id FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_query LIKE 'INSERT INTO IMMsgIdempotency%'",
  );
  return rows.map((r) => String(r.trx_id));
}

it('a commit that waits too long for a lock is retried and stored once', async () => {
  const inst = fx.instance({ writerSessionSql: 'SET SESSION innodb_lock_wait_timeout = 1' });
  expect((await inst.store(5001, 5002, 'warm-up')).result).toBe(STORE_OK);

  // Another transaction holds the idempotency key the commit is about to insert.
  const blocker: PoolConnection = await fx.pool.getConnection();
  await blocker.query('START TRANSACTION');
  await blocker.query("INSERT INTO IMMsgIdempotency (fromId, idemKey, sessionType, toId, msgId, created) VALUES (5001, 'held', 1, 5002, 999, UNIX_TIMESTAMP())");

  const pending = inst.store(5001, 5002, 'waits for the lock', 1, 'held');
  let first = '';
  // Polled at 250 ms: MariaDB's lock-wait timeout did not fire while INNODB_TRX was read every 50 ms.
  await waitFor(async () => ((first = (await waiters())[0] ?? ''), first !== ''), 10_000, { intervalMs: 250 });
  // The first attempt timed out and was rolled back; a new transaction (the retry) waits now.
  await waitFor(async () => (await waiters()).some((t) => t !== first), 10_000, { intervalMs: 250 });
  await blocker.query('ROLLBACK');
  blocker.release();

  const outcome = await pending;
  expect(outcome).toEqual({ result: STORE_OK, msgId: 2 });
  expect(await storedIds(fx.pool, 5001, 5002)).toEqual([1, 2]);
  await inst.close();
});

/** Whether a connection runs (here: waits in) a statement starting with `prefix`; PROCESSLIST, not INNODB_TRX, whose cache lags. */
async function running(prefix: string): Promise<boolean> {
  const [rows] = await fx.pool.query<RowDataPacket[]>("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE ?", [fx.dbName, `${prefix}%`]);
  return rows.length > 0;
}

it('a commit chosen as a deadlock victim is rolled back, run again and stored once', async () => {
  const retriesBefore = await sampleValue('tt_store_transaction_retries_total', { reason: 'deadlock' });
  // Rows of the conversation exist (relation, sessions, cursors); a second instance has no caches, so it upserts them again.
  const warm = fx.instance();
  expect((await warm.store(6001, 6002, 'warm-up')).result).toBe(STORE_OK);
  const inst = fx.instance();

  // The other transaction: heavy (InnoDB rolls back the lighter one of a deadlock), and holding the sender's read cursor.
  const other: PoolConnection = await fx.pool.getConnection();
  await other.query('START TRANSACTION');
  await other.query(
    `INSERT INTO IMMsgIdempotency (fromId, idemKey, sessionType, toId, msgId, created) VALUES ${Array.from({ length: 50 }, (_, i) => `(6999, 'weight-${i}', 1, 6998, ${i + 1}, UNIX_TIMESTAMP())`).join(', ')}`,
  );
  await other.query('UPDATE IMReadCursor SET updated = updated WHERE userId = 6001 AND peerId = 6002 AND sessionType = 1');

  let pending: Promise<unknown> = Promise.resolve();
  try {
    // The commit locks the session rows, then waits for the cursor row…
    pending = inst.store(6001, 6002, 'deadlocked once', 1, 'dl-1');
    await waitFor(() => running('INSERT INTO IMReadCursor'), 10_000);
    // …and the other transaction now wants a session row the commit holds: a deadlock; the commit is the victim.
    await other.query('UPDATE IMRecentSession SET status = status WHERE userId = 6001 AND peerId = 6002 AND type = 1');
    // The commit runs again (it passed the session rows before the deadlock) and waits for the one the other transaction now holds.
    await waitFor(() => running('INSERT INTO IMRecentSession'), 10_000);
  } finally {
    await other.query('ROLLBACK');
    other.release();
  }

  expect(await pending).toEqual({ result: STORE_OK, msgId: 2 });
  expect(await storedIds(fx.pool, 6001, 6002)).toEqual([1, 2]);
  const [keys] = await fx.pool.query<RowDataPacket[]>("SELECT msgId FROM IMMsgIdempotency WHERE fromId = 6001 AND idemKey = 'dl-1'");
  expect(keys.map((r) => Number(r.msgId))).toEqual([2]);
  expect(await sampleValue('tt_store_transaction_retries_total', { reason: 'deadlock' })).toBe(retriesBefore + 1);
  await inst.close();
  await warm.close();
});
