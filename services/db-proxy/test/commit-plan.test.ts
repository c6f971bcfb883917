// The commit plan (commit/plan.ts) against real MariaDB and Redis: relations,
// msg ids in arrival order per conversation, and the master's rows.
import { IM } from '@tiertalk/proto';
import { CommitTimings } from '../src/handlers/message/commit-metrics';
import { Admission } from '../src/handlers/message/commit/admission';
import { CommitPlanner, masterRows } from '../src/handlers/message/commit/plan';
import type { PendingMessage } from '../src/handlers/message/commit/types';
import { RefusalLog } from '@tiertalk/metrics';
import { IdempotencyStore } from '../src/store/idempotency';
import { MessageIdAllocator } from '../src/store/message-ids';
import { RelationStore } from '../src/store/relations';
import { Instance, openOfflineFixture, OfflineFixture, silentLog } from './offline-fixture';

const TEXT = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT;
let fx: OfflineFixture;
let inst: Instance;

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_commit_plan_test');
  inst = fx.instance();
});
afterAll(async () => {
  await fx.close();
});

const msg = (from: number, to: number, text: string): PendingMessage => ({
  msg: { fromUserId: from, toSessionId: to, msgId: 0, createTime: 0, msgType: TEXT, msgData: Buffer.from(text, 'utf8') },
  done: () => undefined,
});

it('gives each conversation its next ids in arrival order and builds the rows of the master transaction', async () => {
  const { alice, bob, carol } = fx.ids;
  const now = Math.floor(Date.now() / 1000);
  const admission = new Admission({ log: silentLog, refusals: new RefusalLog(silentLog), idempotency: new IdempotencyStore(fx.pool), dedupeWindowSec: 300 });
  const planner = new CommitPlanner({ relations: new RelationStore(fx.pool), ids: new MessageIdAllocator(inst.redis.unread, fx.pool), audio: inst.stores.audio, log: silentLog });
  const batch = [msg(alice, bob, 'a1'), msg(carol, bob, 'c1'), msg(bob, alice, 'b1'), msg(alice, bob, 'a2')];
  const plan = await planner.plan(await admission.admit(batch, now), now, new CommitTimings());

  const [rel] = await fx.pool.query<import('mysql2').RowDataPacket[]>('SELECT id, smallId, bigId FROM IMRelationShip');
  const relateOf = (x: number, y: number): number => Number(rel.find((r) => Number(r.smallId) === Math.min(x, y) && Number(r.bigId) === Math.max(x, y))?.id);
  expect(plan.plans.map((p) => [p.content, p.conversationId, p.msgId])).toEqual([
    ['a1', relateOf(alice, bob), 1],
    ['c1', relateOf(carol, bob), 1],
    ['b1', relateOf(alice, bob), 2],
    ['a2', relateOf(alice, bob), 3],
  ]);
  // Without TT_MYSQL_SHARDS every shard is on the master.
  expect(plan.plans.some(planner.isRemote)).toBe(false);

  const rows = masterRows(plan.plans, planner.isRemote, now);
  expect(rows.rows.map((r) => [r.fromId, r.toId, r.msgId])).toEqual([
    [alice, bob, 1],
    [carol, bob, 1],
    [bob, alice, 2],
    [alice, bob, 3],
  ]);
  expect(rows.unread).toEqual([
    { toId: bob, fromId: alice, n: 2 },
    { toId: bob, fromId: carol, n: 1 },
    { toId: alice, fromId: bob, n: 1 },
  ]);
  // The sender has read what they sent: alice's cursor moves to 3 (the last of the commit wins when written).
  expect(rows.ownReads.filter((c) => c.userId === alice).map((c) => c.msgId)).toEqual([1, 3]);
});
