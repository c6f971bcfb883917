// IMRecentSession is written by upsert on its unique (userId, peerId, type)
// key (migration 0007): two db-proxy instances storing messages of the same
// pairs at once leave exactly one row per session, and a removed session is
// re-activated by the next message. Real MariaDB and Redis.
import type { RowDataPacket } from 'mysql2/promise';
import { tiertalk } from '@tiertalk/proto';
import { markSessionRemoved } from '../src/store/recent-sessions';
import { openOfflineFixture, OfflineFixture } from './offline-fixture';

const { STORE_OK } = tiertalk.StoreResult;
let fx: OfflineFixture;

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_session_upsert_test');
});
afterAll(async () => {
  await fx.close();
});

async function sessionRows(userId: number, peerId: number): Promise<RowDataPacket[]> {
  const [rows] = await fx.pool.query<RowDataPacket[]>('SELECT status, updated FROM IMRecentSession WHERE userId = ? AND peerId = ? AND type = 1', [userId, peerId]);
  return rows;
}

describe('recent sessions written by two instances at once', () => {
  it('stay one row per (user, peer, type), active and at the latest time', async () => {
    const one = fx.instance();
    const two = fx.instance();
    const pairs = Array.from({ length: 10 }, (_, i): [number, number] => [3000 + 2 * i, 3001 + 2 * i]);
    const sends = pairs.flatMap(([a, b]) => [one.store(a, b, 'from one'), two.store(b, a, 'from two'), two.store(a, b, 'again'), one.store(b, a, 'again')]);
    const outcomes = await Promise.all(sends);
    expect(outcomes.every((o) => o.result === STORE_OK)).toBe(true);
    for (const [a, b] of pairs) {
      for (const [u, p] of [
        [a, b],
        [b, a],
      ]) {
        const rows = await sessionRows(u, p);
        expect({ u, p, rows: rows.length, status: rows[0]?.status }).toEqual({ u, p, rows: 1, status: 0 });
      }
    }
    await Promise.all([one.close(), two.close()]);
  });

  it('re-activate a session its owner removed, in place', async () => {
    const inst = fx.instance();
    expect((await inst.store(3101, 3102, 'first')).result).toBe(STORE_OK);
    const now = Math.floor(Date.now() / 1000);
    expect(await markSessionRemoved(fx.pool, 3102, 1, 3101, now)).toBe(true);
    inst.stores.sessionWriter.forget({ type: 1, userId: 3102, peerId: 3101 });
    expect((await sessionRows(3102, 3101)).map((r) => r.status)).toEqual([1]);
    expect((await inst.store(3101, 3102, 'second')).result).toBe(STORE_OK);
    const rows = await sessionRows(3102, 3101);
    expect(rows.map((r) => r.status)).toEqual([0]);
    expect(Number(rows[0].updated)).toBeGreaterThanOrEqual(now);
    await inst.close();
  });
});
