// Message ids per conversation: never handed out twice, strictly increasing
// in commit order, 1..N while nothing fails; with two db-proxy instances (two
// pools, two Redis connections) writing the same conversations at once,
// across failed commits (which leave gaps), lost counters and restarts.
import { tiertalk } from '@tiertalk/proto';
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

  it('never hand out the ids of a failed commit again, even when the other instance took ids meanwhile', async () => {
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

    // The ACKed ids are the stored ones, each once, in ascending order of their ACKs.
    const stored = await storedIds(fx.pool, a, b);
    expect(stored).toHaveLength(41);
    expect(new Set(stored).size).toBe(41);
    const acked = ok.map((o) => o.msgId);
    expect(acked).toEqual([...acked].sort((x, y) => x - y));
    expect(stored.slice(1)).toEqual(acked);
    // The 40 failed commits took ids too; nobody gets them later.
    const rel = await relateId(a, b);
    expect(await fx.redis.get(`msg_id_${rel}`)).toBe('81');
    expect((await healthy.store(b, a, 'next')).msgId).toBe(82);
    expect(await fx.redis.keys('*tt_free*')).toEqual([]);
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

  it('rebuild a lost counter above every stored id', async () => {
    const inst = fx.instance();
    const [a, b] = [1301, 1302];
    for (let i = 0; i < 3; i++) await inst.store(a, b, `m${i}`);
    const rel = await relateId(a, b);
    await fx.redis.del(`msg_id_${rel}`);
    expect((await inst.store(a, b, 'after loss')).msgId).toBe(4);
    expect(await storedIds(fx.pool, a, b)).toEqual(range(4));
  });

  it('raise a counter that is behind the stored ids to the shard maximum and retry, instead of storing an id twice', async () => {
    const one = fx.instance();
    const two = fx.instance();
    const [a, b] = [1401, 1402];
    for (let i = 0; i < 10; i++) await one.store(a, b, `m${i}`);
    const rel = await relateId(a, b);
    // Redis lost the counter and something re-seeded it low (e.g. from a lagging replica):
    // stepping through the taken ids one commit at a time would not get past them.
    await fx.redis.set(`msg_id_${rel}`, '1');
    const [x, y] = await Promise.all([one.store(b, a, 'after reseed'), two.store(a, b, 'also after reseed')]);
    expect([x.result, y.result]).toEqual([STORE_OK, STORE_OK]);
    expect([x.msgId, y.msgId].sort((p, q) => p - q)).toEqual([11, 12]);
    expect(await storedIds(fx.pool, a, b)).toEqual(range(12));
    expect(Number(await fx.redis.get(`msg_id_${rel}`))).toBe(12);
    expect((await two.store(b, a, 'next')).msgId).toBe(13);
  });
});
