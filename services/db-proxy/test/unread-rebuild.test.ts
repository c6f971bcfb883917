// Unread counters after the unread Redis lost its data (issue 10): read
// cursors in MySQL (IMReadCursor), the epoch that notices the loss, and the
// per-user rebuild before UnreadCount. Real MariaDB and Redis.
import type * as grpc from '@grpc/grpc-js';
import type { RowDataPacket } from 'mysql2/promise';
import { IM, tiertalk } from '@tiertalk/proto';
import { waitFor } from '@tiertalk/testkit';
import { groupRpc } from '../src/handlers/group/rpc';
import { MessageCommitter, StoreOutcome } from '../src/handlers/message/message-committer';
import { OfflineReads } from '../src/handlers/message/offline-reads';
import { ReadAcks } from '../src/handlers/message/read-ack';
import { GroupMembersCache } from '../src/store/group-members';
import { IdempotencyStore } from '../src/store/idempotency';
import { MessageIdAllocator } from '../src/store/message-ids';
import { RelationStore } from '../src/store/relations';
import { epochNeedsRebuild, UNREAD_EPOCH_KEY } from '../src/store/unread-epoch';
import { rebuiltMarkerKey } from '../src/store/unread-rebuild';
import { Instance, openOfflineFixture, OfflineFixture, silentLog } from './offline-fixture';

const { STORE_OK } = tiertalk.StoreResult;
const { MSG_TYPE_SINGLE_TEXT, MSG_TYPE_GROUP_TEXT } = IM.BaseDefine.MsgType;
const SINGLE = IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE;
const GROUP = IM.BaseDefine.SessionType.SESSION_TYPE_GROUP;

let fx: OfflineFixture;
let inst: Instance;
let committer: MessageCommitter;
let rpc: grpc.UntypedServiceImplementation;
let reads: OfflineReads;
let acks: ReadAcks;
let alice: number, bob: number, carol: number, dave: number;
const epochChanges: string[] = [];

function invoke<Res>(name: string, request: object): Promise<Res> {
  const handler = rpc[name];
  return new Promise((resolve, reject) => {
    const call = { request } as unknown as grpc.ServerUnaryCall<object, Res>;
    (handler as grpc.handleUnaryCall<object, Res>)(call, (err, value) => (err ? reject(err) : resolve(value as Res)));
  });
}

async function send(from: number, to: number, text: string, type: number = MSG_TYPE_SINGLE_TEXT): Promise<number> {
  const out = await new Promise<StoreOutcome>((resolve) =>
    committer.submit({
      msg: { fromUserId: from, toSessionId: to, msgId: 0, createTime: Math.floor(Date.now() / 1000), msgType: type, msgData: Buffer.from(text) },
      done: resolve,
    }),
  );
  expect(out.result).toBe(STORE_OK);
  return out.msgId;
}

async function createGroup(creator: number, members: number[]): Promise<number> {
  const rsp = await invoke<IM.Group.IMGroupCreateRsp>('GroupCreate', {
    userId: creator,
    groupType: IM.BaseDefine.GroupType.GROUP_TYPE_TMP,
    groupName: 'team',
    groupAvatar: '',
    memberIdList: members,
  });
  expect(rsp.resultCode).toBe(0);
  return rsp.groupId;
}

/** UnreadCount as "type:session → count", and the total. */
async function unreadOf(r: OfflineReads, userId: number): Promise<{ counts: Record<string, number>; total: number }> {
  const rsp = await r.unreadCount(IM.Message.IMUnreadMsgCntReq.create({ userId }));
  const counts: Record<string, number> = {};
  for (const e of rsp.unreadinfoList) counts[`${e.sessionType}:${e.sessionId}`] = e.unreadCnt;
  return { counts, total: rsp.totalCnt };
}

async function cursorOf(userId: number, peerId: number, type: number): Promise<{ msgId: number; updated: number } | undefined> {
  const [rows] = await fx.pool.query<RowDataPacket[]>('SELECT msgId, updated FROM IMReadCursor WHERE userId = ? AND peerId = ? AND sessionType = ?', [
    userId,
    peerId,
    type,
  ]);
  return rows[0] === undefined ? undefined : { msgId: Number(rows[0].msgId), updated: Number(rows[0].updated) };
}

beforeAll(async () => {
  fx = await openOfflineFixture('u_tt_unread_rebuild_test');
  ({ alice, bob, carol, dave } = fx.ids);
  inst = fx.instance();
  committer = new MessageCommitter({
    writer: inst.mysql.writer,
    master: inst.mysql.master,
    idempotency: new IdempotencyStore(inst.mysql.master),
    dedupeWindowSec: 300,
    counterOutbox: inst.counterOutbox,
    relations: new RelationStore(inst.mysql.master),
    ids: new MessageIdAllocator(inst.redis.unread, inst.mysql.master),
    sessions: inst.stores.sessionWriter,
    audio: inst.stores.audio,
    conversations: inst.stores.conversations,
    log: silentLog,
    batchMax: 1000,
    groups: { members: new GroupMembersCache(inst.mysql.master, inst.redis.groupMember) },
  });
  rpc = groupRpc({ mysql: inst.mysql, redis: inst.redis, log: silentLog }, { memberLimit: 10, adminLimit: 1 });
  reads = new OfflineReads(inst.stores, inst.redis.unread, silentLog);
  acks = new ReadAcks(inst.stores, inst.redis.unread, inst.mysql.master, silentLog);
  inst.stores.unreadEpoch.start(50, { onError: () => undefined, onChange: (_prev, epoch) => epochChanges.push(epoch) });
  await inst.stores.unreadEpoch.current();
});
afterAll(async () => {
  inst.stores.unreadEpoch.stop();
  await committer.idle();
  await fx.close();
});

describe('unread counters rebuilt from MySQL after the unread Redis lost them', () => {
  it('moves cursors with sent messages and read acks, then answers the same unread after a FLUSHDB, once per epoch', async () => {
    const a1 = await send(alice, bob, 'a1');
    const [b1, , b3] = [await send(bob, alice, 'b1'), await send(bob, alice, 'b2'), await send(bob, alice, 'b3')];
    await acks.readAck(IM.Message.IMMsgDataReadAck.create({ userId: alice, sessionId: bob, msgId: b3, sessionType: SINGLE }));
    await send(bob, alice, 'b4');
    const c1 = await send(carol, alice, 'c1');
    await send(carol, alice, 'c2');
    await send(dave, alice, 'd1');
    const g = await createGroup(alice, [alice, bob, carol]);
    await send(alice, g, 'g1', MSG_TYPE_GROUP_TEXT);
    await send(bob, g, 'g2', MSG_TYPE_GROUP_TEXT);
    const g3 = await send(bob, g, 'g3', MSG_TYPE_GROUP_TEXT);
    const g4 = await send(carol, g, 'g4', MSG_TYPE_GROUP_TEXT);

    // The cursors: the sender's at their message, a receiver's below the first message they got, a read ack's where it said.
    expect(await cursorOf(bob, alice, SINGLE)).toMatchObject({ msgId: b3 + 1 });
    expect(await cursorOf(alice, bob, SINGLE)).toMatchObject({ msgId: b3 });
    expect(a1).toBeLessThan(b1);
    expect(await cursorOf(alice, carol, SINGLE)).toEqual({ msgId: c1 - 1, updated: 0 });
    expect(await cursorOf(bob, g, GROUP)).toMatchObject({ msgId: g3 });
    expect(await cursorOf(carol, g, GROUP)).toMatchObject({ msgId: g4 });
    expect(await cursorOf(alice, g, GROUP)).toMatchObject({ msgId: 1 });
    // dave → alice as if stored before cursors existed: no cursor, so it cannot be rebuilt (counts 0 after the loss).
    await fx.pool.query('DELETE FROM IMReadCursor WHERE userId = ? AND peerId = ?', [alice, dave]);

    const before = await unreadOf(reads, alice);
    expect(before.counts).toEqual({ [`1:${bob}`]: 1, [`1:${carol}`]: 2, [`1:${dave}`]: 1, [`2:${g}`]: 3 });

    // Redis loses everything (a restart of a Redis that keeps nothing on disk looks the same).
    const epoch = await fx.redis.get(UNREAD_EPOCH_KEY);
    await fx.redis.flushdb();
    await waitFor(() => epochChanges.length === 1, 5_000, { what: 'the epoch check to notice the loss' });
    expect(epochChanges[0]).not.toBe(epoch);

    const after = await unreadOf(reads, alice);
    expect(after.counts).toEqual({ [`1:${bob}`]: 1, [`1:${carol}`]: 2, [`2:${g}`]: 3 });
    expect(after.total).toBe(6);
    expect(await fx.redis.hgetall(`unread_${alice}`)).toEqual({ [String(bob)]: '1', [String(carol)]: '2' });
    expect(await fx.redis.exists(rebuiltMarkerKey(epochChanges[0], alice))).toBe(1);
    expect(await fx.redis.ttl(rebuiltMarkerKey(epochChanges[0], alice))).toBe(-1);

    // The sender's own messages never count: bob sent g2, g3 and everything to alice; only carol's g4 is unread.
    expect((await unreadOf(reads, bob)).counts).toEqual({ [`2:${g}`]: 1 });
    // carol sent the newest group message: nothing unread.
    expect((await unreadOf(reads, carol)).counts).toEqual({});

    // Marked once per epoch: a later request (here another instance's) does not recompute and overwrite live counters.
    await fx.redis.hset(`unread_${alice}`, String(carol), 5);
    const other = fx.instance();
    try {
      const otherReads = new OfflineReads(other.stores, other.redis.unread, silentLog);
      expect((await unreadOf(otherReads, alice)).counts[`1:${carol}`]).toBe(5);
      expect((await unreadOf(reads, alice)).counts[`1:${carol}`]).toBe(5);
    } finally {
      await other.close();
    }
  });

  it('a read ack moves the cursor forward only, and never past the newest stored message', async () => {
    const newest = await send(dave, carol, 'x');
    await send(dave, carol, 'y');
    const last = await send(dave, carol, 'z');
    expect(await cursorOf(carol, dave, SINGLE)).toEqual({ msgId: newest - 1, updated: 0 });
    await acks.readAck(IM.Message.IMMsgDataReadAck.create({ userId: carol, sessionId: dave, msgId: 1_000_000, sessionType: SINGLE }));
    expect(await cursorOf(carol, dave, SINGLE)).toMatchObject({ msgId: last });
    await acks.readAck(IM.Message.IMMsgDataReadAck.create({ userId: carol, sessionId: dave, msgId: newest, sessionType: SINGLE }));
    expect(await cursorOf(carol, dave, SINGLE)).toMatchObject({ msgId: last });
    // A received message does not move the receiver's existing cursor.
    await send(dave, carol, 'later');
    expect(await cursorOf(carol, dave, SINGLE)).toMatchObject({ msgId: last });
  });

  it('a first start on a Redis that kept its counters (no epoch yet, data present) rebuilds nothing', async () => {
    inst.stores.unreadEpoch.stop();
    await fx.redis.del(UNREAD_EPOCH_KEY);
    await fx.redis.hset(`unread_${alice}`, String(bob), 9);
    const fresh = fx.instance();
    try {
      const epoch = await fresh.stores.unreadEpoch.current();
      expect(epochNeedsRebuild(epoch)).toBe(false);
      const freshReads = new OfflineReads(fresh.stores, fresh.redis.unread, silentLog);
      expect((await unreadOf(freshReads, alice)).counts[`1:${bob}`]).toBe(9);
      // The instance that had seen the old epoch takes the missing key for a loss.
      await fx.redis.del(UNREAD_EPOCH_KEY);
      expect(epochNeedsRebuild(await inst.stores.unreadEpoch.check())).toBe(true);
      expect((await unreadOf(reads, alice)).counts[`1:${bob}`]).toBe(1);
    } finally {
      await fresh.close();
    }
  });
});
