// Commit lanes (TT_STORE_COMMIT_LANES, commit/lanes.ts) against real MariaDB
// and Redis: several transactions in flight at once over conversations that
// share users, under a load of interleaved submissions with resends. Every
// message is stored exactly once, each conversation's msg ids rise in arrival
// order, and the unread counters match what was sent.
import type { RowDataPacket } from 'mysql2/promise';
import { tiertalk } from '@tiertalk/proto';
import { laneOf } from '../src/handlers/message/commit/lanes';
import type { StoreOutcome } from '../src/handlers/message/message-committer';
import { openOfflineFixture, OfflineFixture } from './offline-fixture';

jest.setTimeout(120_000);
const { STORE_OK } = tiertalk.StoreResult;
const TEXT = 1;
const GROUP_TEXT = 17;
let fx: OfflineFixture;

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_commit_lanes_test');
});
afterAll(async () => {
  await fx.close();
});

it('puts both directions of a pair, and every message of a group, in one lane, and spreads pairs over the lanes', () => {
  const seen = new Set<number>();
  for (let a = 1; a <= 40; a++) {
    for (let b = a + 1; b <= 40; b++) {
      const lane = laneOf({ fromUserId: a, toSessionId: b, msgType: TEXT }, 4);
      expect(laneOf({ fromUserId: b, toSessionId: a, msgType: TEXT }, 4)).toBe(lane);
      seen.add(lane);
    }
  }
  expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  expect(laneOf({ fromUserId: 5, toSessionId: 77, msgType: GROUP_TEXT }, 4)).toBe(laneOf({ fromUserId: 9, toSessionId: 77, msgType: GROUP_TEXT }, 4));
  expect(laneOf({ fromUserId: 5, toSessionId: 6, msgType: TEXT }, 1)).toBe(0);
});

/** A small deterministic PRNG (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

it('concurrent lanes under load keep per-conversation order, allocate no duplicate ids, lose and duplicate nothing', async () => {
  const inst = fx.instance({ lanes: 4 });
  // Transactions in flight at once: writer connections held at the same time.
  let held = 0;
  let maxHeld = 0;
  inst.mysql.writer.on('acquire', () => (maxHeld = Math.max(maxHeld, ++held)));
  inst.mysql.writer.on('release', () => (held -= 1));
  let committed: Array<() => void> = [];
  inst.committer.onProgress(() => {
    const waiting = committed;
    committed = [];
    for (const w of waiting) w();
  });
  const nextCommit = (): Promise<void> => new Promise((resolve) => committed.push(resolve));

  // 12 users, every pair a conversation (66): each user talks in conversations of every lane.
  const users = Array.from({ length: 12 }, (_, i) => 9001 + i);
  const pairs: Array<[number, number]> = [];
  for (const a of users) for (const b of users) if (a < b) pairs.push([a, b]);
  const random = prng(13);
  type Sent = { from: number; to: number; text: string; key: string; outcome: Promise<StoreOutcome> };
  const sent: Sent[] = [];
  const resends: Array<{ of: Sent; outcome: Promise<StoreOutcome> }> = [];
  const submit = (from: number, to: number, text: string, key: string): Promise<StoreOutcome> => inst.store(from, to, text, TEXT, key);

  for (let wave = 0; wave < 40; wave++) {
    for (let i = 0; i < 75; i++) {
      const [a, b] = pairs[Math.floor(random() * pairs.length)];
      const [from, to] = random() < 0.5 ? [a, b] : [b, a];
      const n = sent.length;
      const text = `m${n}`;
      const key = `k${n}`;
      sent.push({ from, to, text, key, outcome: submit(from, to, text, key) });
      // A resend (same key) of an earlier message, as a gateway retries after a lost answer.
      if (n % 10 === 9) {
        const of = sent[Math.floor(random() * sent.length)];
        resends.push({ of, outcome: submit(of.from, of.to, of.text, of.key) });
      }
    }
    // Every other wave waits until some commit finished: later waves meet transactions in flight and queue behind them.
    if (wave % 2 === 1) await nextCommit();
  }
  const outcomes = await Promise.all(sent.map((s) => s.outcome));
  expect(outcomes.filter((o) => o.result !== STORE_OK)).toEqual([]);
  expect(maxHeld).toBeGreaterThan(1);

  // Per conversation: ids rising in arrival order (none twice; a round re-planned after a resend's stored key
  // leaves a gap, as any rolled-back commit does), and the stored rows in that order.
  const byPair = new Map<string, Array<{ text: string; msgId: number }>>();
  sent.forEach((s, i) => {
    const k = `${Math.min(s.from, s.to)}:${Math.max(s.from, s.to)}`;
    let list = byPair.get(k);
    if (list === undefined) byPair.set(k, (list = []));
    list.push({ text: s.text, msgId: outcomes[i].msgId });
  });
  const [rels] = await fx.pool.query<RowDataPacket[]>('SELECT id, smallId, bigId FROM IMRelationShip WHERE smallId >= 9001 AND bigId <= 9012');
  let storedRows = 0;
  for (const [k, list] of byPair) {
    const ids = list.map((m) => m.msgId);
    expect(ids.slice(1).every((id, i) => id > ids[i])).toBe(true);
    const [small, big] = k.split(':').map(Number);
    const rel = rels.filter((r) => Number(r.smallId) === small && Number(r.bigId) === big);
    expect(rel).toHaveLength(1);
    const relateId = Number(rel[0].id);
    const [rows] = await fx.pool.query<RowDataPacket[]>(`SELECT msgId, content FROM IMMessage_${relateId % 8} WHERE relateId = ? ORDER BY msgId`, [relateId]);
    expect(rows.map((r) => [Number(r.msgId), String(r.content)])).toEqual(list.map((m) => [m.msgId, m.text]));
    storedRows += rows.length;
  }
  expect(storedRows).toBe(sent.length);

  // A resend is answered with its message's id; nothing was stored for it.
  for (const r of resends) {
    const [first, again] = await Promise.all([r.of.outcome, r.outcome]);
    expect(again).toEqual(first);
  }

  // Unread counters (applied after each commit from its outbox row) count every message once.
  const expected = new Map<string, number>();
  for (const s of sent) expected.set(`${s.to}:${s.from}`, (expected.get(`${s.to}:${s.from}`) ?? 0) + 1);
  await inst.committer.idle();
  for (const [k, n] of expected) {
    const [to, from] = k.split(':');
    expect(Number(await fx.redis.hget(`unread_${to}`, from))).toBe(n);
  }
  await inst.close();
});
