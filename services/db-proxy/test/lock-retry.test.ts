// The message transaction is run again after a lock-wait timeout or a
// deadlock (SqlBatch.runInTransaction): another transaction holds a lock the
// commit needs; the first attempt times out, the retry gets through once the
// lock is released, and the sender gets STORE_OK with one row stored.
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { tiertalk } from '@tiertalk/proto';
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
