// Message ids per conversation: strictly 1..N with no gaps and no reuse, with
// two db-proxy instances (two pools, two Redis connections) writing the same
// conversations at once, across failed commits and after a restart.
import { tiertalk } from '@tiertalk/proto';
import { unusedIdsKey } from '../src/store/message-ids';
import { openOfflineFixture, OfflineFixture, storedIds } from './offline-fixture';

const { STORE_OK, STORE_FAILED } = tiertalk.StoreResult;

let fx: OfflineFixture;

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_msgids_test');
});
afterAll(async () => {
  await fx.close();
});

async function relateId(a: number, b: number): Promise<number> {
  const [rows] = await fx.pool.query<import('mysql2/promise').RowDataPacket[]>(
    'SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ? AND status = 0',
    [Math.min(a, b), Math.max(a, b)],
  );
  return Number(rows[0].id);
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('two db-proxy instances writing the same conversations', () => {
  it('number each conversation 1..N exactly, in both directions', async () => {
    const one = fx.instance();
    const two = fx.instance();
    const pairs: Array<[number, number]> = [
      [1001, 1002],
      [1003, 1004],
      [1005, 1006],
    ];
    const rounds = 60;
    const sends: Array<Promise<{ result: number; msgId: number }>> = [];
    for (let r = 0; r < rounds; r++) {
      for (const [a, b] of pairs) {
        // Alternate instance and direction; a new message every few microseconds.
        sends.push((r % 2 === 0 ? one : two).store(a, b, `a→b ${r}`));
        sends.push((r % 2 === 0 ? two : one).store(b, a, `b→a ${r}`));
      }
      if (r % 10 === 0) await new Promise((res) => setImmediate(res));
    }
    const outcomes = await Promise.all(sends);
    expect(outcomes.every((o) => o.result === STORE_OK)).toBe(true);
    for (const [a, b] of pairs) {
      expect(await storedIds(fx.pool, a, b)).toEqual(range(2 * rounds));
      expect(await fx.redis.get(`msg_id_${await relateId(a, b)}`)).toBe(String(2 * rounds));
    }
    // The ACKed ids are exactly the stored ones: none handed out twice.
    const acked = outcomes.map((o) => o.msgId);
    expect(acked.every((id) => id > 0)).toBe(true);
  });

  it('give back the ids of a failed commit, even when the other instance took ids meanwhile', async () => {
    const healthy = fx.instance();
    const failing = fx.instance({ readOnlyWriter: true });
    const [a, b] = [1101, 1102];
    expect((await healthy.store(a, b, 'first')).result).toBe(STORE_OK);

    const sends: Array<Promise<{ result: number; msgId: number }>> = [];
    for (let r = 0; r < 40; r++) {
      sends.push(healthy.store(a, b, `ok ${r}`));
      sends.push(failing.store(b, a, `refused ${r}`));
    }
    const outcomes = await Promise.all(sends);
    const ok = outcomes.filter((o) => o.result === STORE_OK);
    const failed = outcomes.filter((o) => o.result === STORE_FAILED);
    expect(ok).toHaveLength(40);
    expect(failed).toHaveLength(40);
    expect(failed.every((o) => o.msgId === 0)).toBe(true);

    // Given-back ids are used first by later messages; nothing is left unused.
    expect(await storedIds(fx.pool, a, b)).toEqual(range(41));
    const rel = await relateId(a, b);
    expect(await fx.redis.get(`msg_id_${rel}`)).toBe('41');
    expect(await fx.redis.zcard(unusedIdsKey(`msg_id_${rel}`))).toBe(0);
    expect((await healthy.store(b, a, 'next')).msgId).toBe(42);
  });

  it('continue after a restart (new pools, new connections) without reuse', async () => {
    const before = fx.instance();
    const [a, b] = [1201, 1202];
    for (let i = 0; i < 5; i++) expect((await before.store(a, b, `m${i}`)).result).toBe(STORE_OK);
    await before.close();
    const after = fx.instance();
    expect((await after.store(b, a, 'after restart')).msgId).toBe(6);
    expect(await storedIds(fx.pool, a, b)).toEqual(range(6));
  });

  it('rebuild a lost counter above every stored id, dropping unused ids that are no longer below it', async () => {
    const inst = fx.instance();
    const [a, b] = [1301, 1302];
    for (let i = 0; i < 3; i++) await inst.store(a, b, `m${i}`);
    const rel = await relateId(a, b);
    const counter = `msg_id_${rel}`;
    // Redis lost the counter; a stale unused id above the stored ones must not come back.
    await fx.redis.del(counter);
    await fx.redis.zadd(unusedIdsKey(counter), 7, '7');
    expect((await inst.store(a, b, 'after loss')).msgId).toBe(4);
    expect(await storedIds(fx.pool, a, b)).toEqual(range(4));
    expect(await fx.redis.zcard(unusedIdsKey(counter))).toBe(0);
  });
});
