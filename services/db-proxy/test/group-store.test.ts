import * as grpc from '@grpc/grpc-js';
import type { RowDataPacket } from 'mysql2/promise';
import { IM, tiertalk } from '@tiertalk/proto';
import { refusalCount } from '@tiertalk/metrics';
import { GROUP_INFO_MAX_IDS, groupRpc } from '../src/handlers/group/rpc';
import { MessageCommitter, StoreOutcome } from '../src/handlers/message/message-committer';
import { GroupMembersCache } from '../src/store/group-members';
import { GroupMessageReader } from '../src/store/group-message-reader';
import { IdempotencyStore } from '../src/store/idempotency';
import { MessageIdAllocator } from '../src/store/message-ids';
import { RelationStore } from '../src/store/relations';
import { Instance, openOfflineFixture, OfflineFixture, silentLog } from './offline-fixture';

const { STORE_OK, STORE_REJECTED } = tiertalk.StoreResult;
const { MSG_TYPE_GROUP_TEXT } = IM.BaseDefine.MsgType;
const { GROUP_ADMIN_OK, GROUP_ADMIN_NOT_ALLOWED, GROUP_ADMIN_NO_SUCH_GROUP, GROUP_ADMIN_LIMIT_REACHED } = IM.Group.GroupAdminResult;

let fx: OfflineFixture;
let inst: Instance;
let committer: MessageCommitter;
let rpc: grpc.UntypedServiceImplementation;
let alice: number, bob: number, carol: number, dave: number;

/** Calls a unary handler as gRPC would. */
function invoke<Res>(name: string, request: object): Promise<Res> {
  const handler = rpc[name];
  return new Promise((resolve, reject) => {
    const call = { request } as unknown as grpc.ServerUnaryCall<object, Res>;
    (handler as grpc.handleUnaryCall<object, Res>)(call, (err, value) => (err ? reject(err) : resolve(value as Res)));
  });
}

function send(from: number, groupId: number, text: string, idemKey?: string): Promise<StoreOutcome> {
  return new Promise((resolve) =>
    committer.submit({
      ...(idemKey === undefined ? {} : { idemKey }),
      msg: { fromUserId: from, toSessionId: groupId, msgId: 0, createTime: Math.floor(Date.now() / 1000), msgType: MSG_TYPE_GROUP_TEXT, msgData: Buffer.from(text) },
      done: resolve,
    }),
  );
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

async function version(groupId: number): Promise<number> {
  const [rows] = await fx.pool.query<RowDataPacket[]>('SELECT version FROM IMGroup WHERE id = ?', [groupId]);
  return Number(rows[0].version);
}

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_group_store_test');
  ({ alice, bob, carol, dave } = fx.ids);
});
afterAll(async () => {
  await fx.close();
});
beforeEach(() => {
  inst = fx.instance();
  const client = inst.redis.unread;
  committer = new MessageCommitter({
    writer: inst.mysql.writer,
    master: inst.mysql.master,
    idempotency: new IdempotencyStore(inst.mysql.master),
    dedupeWindowSec: 300,
    counterOutbox: inst.counterOutbox,
    relations: new RelationStore(inst.mysql.master),
    ids: new MessageIdAllocator(client, inst.mysql.master),
    sessions: inst.stores.sessionWriter,
    audio: inst.stores.audio,
    conversations: inst.stores.conversations,
    log: silentLog,
    batchMax: 1000,
    groups: { members: new GroupMembersCache(inst.mysql.master, client) },
  });
  rpc = groupRpc({ mysql: inst.mysql, redis: inst.redis, log: silentLog }, { memberLimit: 4, adminLimit: 1 });
});
afterEach(async () => {
  await committer.idle();
  await inst.close();
});

describe('group messages', () => {
  it('stored again with the same idempotency key: the first id and the members, one row', async () => {
    const g = await createGroup(alice, [alice, bob, carol]);
    const first = await send(bob, g, 'once', 'gw/1/1');
    const again = await send(bob, g, 'once', 'gw/1/1');
    expect(first.result).toBe(STORE_OK);
    expect(again.msgId).toBe(first.msgId);
    expect([...(again.memberIds ?? [])].sort()).toEqual([alice, bob, carol].sort());
    const [rows] = await fx.pool.query<RowDataPacket[]>(`SELECT msgId FROM IMGroupMessage_${g % 8} WHERE groupId = ?`, [g]);
    expect(rows.map((r) => Number(r.msgId))).toEqual([first.msgId]);
  });

  it('stores into IMGroupMessage_<gid % 8> with ids 1..N per group, members returned, unread = total - snapshot', async () => {
    const g1 = await createGroup(alice, [alice, bob, carol]);
    const g2 = await createGroup(bob, [alice, bob]);
    const outcomes = await Promise.all([send(alice, g1, 'a1'), send(bob, g2, 'b1'), send(bob, g1, 'b2'), send(alice, g1, 'a3'), send(alice, g2, 'a2')]);
    expect(outcomes.map((o) => [o.result, o.msgId])).toEqual([
      [STORE_OK, 1],
      [STORE_OK, 1],
      [STORE_OK, 2],
      [STORE_OK, 3],
      [STORE_OK, 2],
    ]);
    expect([...(outcomes[0].memberIds ?? [])].sort()).toEqual([alice, bob, carol].sort());
    const [rows] = await fx.pool.query<RowDataPacket[]>(`SELECT userId, msgId, content, type FROM IMGroupMessage_${g1 % 8} WHERE groupId = ? ORDER BY msgId`, [g1]);
    expect(rows.map((r) => [Number(r.userId), Number(r.msgId), String(r.content), Number(r.type)])).toEqual([
      [alice, 1, 'a1', MSG_TYPE_GROUP_TEXT],
      [bob, 2, 'b2', MSG_TYPE_GROUP_TEXT],
      [alice, 3, 'a3', MSG_TYPE_GROUP_TEXT],
    ]);
    const reader = new GroupMessageReader(inst.mysql.master, inst.mysql.master, inst.mysql.shards, inst.redis.groupMember, inst.redis.unread);
    // carol never read: 3; bob read up to his own b2: 1; alice read everything.
    expect((await reader.unreadCounts(carol, [g1])).get(g1)).toBe(3);
    expect((await reader.unreadCounts(bob, [g1])).get(g1)).toBe(1);
    expect((await reader.unreadCounts(alice, [g1])).get(g1)).toBeUndefined();
    const [sessions] = await fx.pool.query<RowDataPacket[]>('SELECT DISTINCT userId FROM IMRecentSession WHERE type = 2 AND peerId = ? AND status = 0', [g1]);
    expect(sessions.map((r) => Number(r.userId)).sort()).toEqual([alice, bob, carol].sort());
    const [chatted] = await fx.pool.query<RowDataPacket[]>('SELECT lastChated FROM IMGroup WHERE id = ?', [g1]);
    expect(Number(chatted[0].lastChated)).toBeGreaterThan(0);
  });

  it('rejects non-members and unknown groups, and rebuilds the member cache after the Redis key is deleted', async () => {
    const g = await createGroup(alice, [alice, bob]);
    expect(await send(carol, g, 'x')).toMatchObject({ result: STORE_REJECTED, msgId: 0 });
    expect(await send(alice, 999_999, 'x')).toMatchObject({ result: STORE_REJECTED, msgId: 0 });
    await fx.redis.del(`group_member_${g}`);
    await fx.redis.del(`group_msg_id_${g}`);
    expect(await send(bob, g, 'after flush')).toMatchObject({ result: STORE_OK, msgId: 1 });
    expect(await fx.redis.hexists(`group_member_${g}`, String(alice))).toBe(1);
    await fx.redis.del(`group_msg_id_${g}`);
    expect(await send(alice, g, 'counter rebuilt')).toMatchObject({ result: STORE_OK, msgId: 2 });
    expect(await send(carol, g, 'still out')).toMatchObject({ result: STORE_REJECTED });
  });

  it('rejects a muted member and, under a whole-group mute, everyone but the owner and admins', async () => {
    const g = await createGroup(alice, [alice, bob, carol]);
    expect((await invoke<IM.Group.IMGroupSetAdminRsp>('GroupSetAdmin', { userId: alice, groupId: g, memberId: bob, isAdmin: 1 })).resultCode).toBe(GROUP_ADMIN_OK);
    const mute = await invoke<IM.Group.IMGroupMuteRsp>('GroupMute', { userId: bob, groupId: g, memberId: carol, muteSeconds: 60 });
    expect(mute.resultCode).toBe(GROUP_ADMIN_OK);
    expect(mute.muteUntil).toBeGreaterThan(Date.now() / 1000);
    expect(await send(carol, g, 'hi')).toMatchObject({ result: STORE_REJECTED, reason: 'muted' });
    await invoke('GroupMute', { userId: bob, groupId: g, memberId: carol, muteSeconds: 0 });
    expect(await send(carol, g, 'hi')).toMatchObject({ result: STORE_OK });
    expect((await invoke<IM.Group.IMGroupMuteRsp>('GroupMute', { userId: bob, groupId: g, memberId: 0, muteSeconds: 60 })).resultCode).toBe(GROUP_ADMIN_OK);
    expect(await send(carol, g, 'hi')).toMatchObject({ result: STORE_REJECTED, reason: 'muted' });
    expect(await send(bob, g, 'admin speaks')).toMatchObject({ result: STORE_OK });
    expect(await send(alice, g, 'owner speaks')).toMatchObject({ result: STORE_OK });
    // Admins cannot mute admins or the owner; members cannot mute at all.
    expect((await invoke<IM.Group.IMGroupMuteRsp>('GroupMute', { userId: bob, groupId: g, memberId: alice, muteSeconds: 60 })).resultCode).toBe(GROUP_ADMIN_NOT_ALLOWED);
    expect((await invoke<IM.Group.IMGroupMuteRsp>('GroupMute', { userId: carol, groupId: g, memberId: bob, muteSeconds: 60 })).resultCode).toBe(GROUP_ADMIN_NOT_ALLOWED);
  });
});

describe('group commands', () => {
  it('create makes NORMAL (operators) and TMP groups, refuses unknown types and over-limit groups; info answers members only and changed versions only', async () => {
    // Clients' NORMAL creates are dropped by the gateway (docs/FLOWS.md §10.3); db-proxy serves the admin CLI.
    const normal = await invoke<IM.Group.IMGroupCreateRsp>('GroupCreate', { userId: alice, groupType: 1, groupName: 'n', groupAvatar: '', memberIdList: [alice, bob] });
    expect(normal.resultCode).toBe(0);
    const unknownType = await invoke<IM.Group.IMGroupCreateRsp>('GroupCreate', { userId: alice, groupType: 3, groupName: 'n', groupAvatar: '', memberIdList: [alice, bob] });
    expect(unknownType.resultCode).toBe(1);
    const big = await invoke<IM.Group.IMGroupCreateRsp>('GroupCreate', { userId: alice, groupType: 2, groupName: 'n', groupAvatar: '', memberIdList: [1, 2, 3, 4, 5] });
    expect(big.resultCode).toBe(1);
    const g = await createGroup(alice, [alice, bob]);
    expect(await version(g)).toBe(1);
    const info = await invoke<IM.Group.IMGroupInfoListRsp>('GroupInfo', { userId: bob, groupVersionList: [{ groupId: g, version: 0 }] });
    expect(info.groupInfoList.map((i) => [i.groupId, i.version, [...(i.groupMemberList ?? [])].sort(), i.groupCreatorId])).toEqual([[g, 1, [alice, bob].sort(), alice]]);
    expect((await invoke<IM.Group.IMGroupInfoListRsp>('GroupInfo', { userId: bob, groupVersionList: [{ groupId: g, version: 1 }] })).groupInfoList).toEqual([]);
    expect((await invoke<IM.Group.IMGroupInfoListRsp>('GroupInfo', { userId: carol, groupVersionList: [{ groupId: g, version: 0 }] })).groupInfoList).toEqual([]);
    // More ids than GROUP_INFO_MAX_IDS: refused with a clear error, counted.
    const tooMany = Array.from({ length: GROUP_INFO_MAX_IDS + 1 }, (_, i) => ({ groupId: i + 1, version: 0 }));
    const refusedBefore = await refusalCount('request_list_too_long');
    await expect(invoke('GroupInfo', { userId: bob, groupVersionList: tooMany })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/at most 1000/) });
    expect(await refusalCount('request_list_too_long')).toBe(refusedBefore + 1);
    // Only the NORMAL group is listed, not the temporary one (docs/FLOWS.md §14 G1).
    expect((await invoke<IM.Group.IMNormalGroupListRsp>('NormalGroupList', { userId: bob })).groupVersionList.map((v) => [v.groupId, v.version])).toEqual([
      [normal.groupId, 1],
    ]);
    const shield = await invoke<IM.Group.IMGroupShieldRsp>('GroupShield', { userId: bob, groupId: g, shieldStatus: 1 });
    expect(shield.resultCode).toBe(0);
    const shields = await invoke<IM.Server.IMGroupGetShieldRsp>('GroupGetShield', { groupId: g, userId: [alice, bob] });
    expect(shields.shieldStatusList.map((s) => [s.userId, s.shieldStatus])).toEqual([
      [alice, 0],
      [bob, 1],
    ]);
    expect((await invoke<IM.Group.IMGroupShieldRsp>('GroupShield', { userId: carol, groupId: g, shieldStatus: 1 })).resultCode).toBe(1);
  });

  it('change member: members add on TMP groups, only the owner deletes; version + 1; limit; non-member refused', async () => {
    const g = await createGroup(alice, [alice, bob]);
    const added = await invoke<IM.Group.IMGroupChangeMemberRsp>('GroupChangeMember', { userId: bob, changeType: 1, groupId: g, memberIdList: [carol] });
    expect(added.resultCode).toBe(0);
    expect([...added.curUserIdList].sort()).toEqual([alice, bob, carol].sort());
    expect(await version(g)).toBe(2);
    expect((await invoke<IM.Group.IMGroupChangeMemberRsp>('GroupChangeMember', { userId: dave, changeType: 1, groupId: g, memberIdList: [dave] })).resultCode).toBe(1);
    expect((await invoke<IM.Group.IMGroupChangeMemberRsp>('GroupChangeMember', { userId: bob, changeType: 2, groupId: g, memberIdList: [carol] })).resultCode).toBe(1);
    const [extra] = await fx.pool.query<RowDataPacket[]>('SELECT id FROM IMUser WHERE id NOT IN (?, ?, ?, ?) LIMIT 2', [alice, bob, carol, dave]);
    const over = [dave, ...extra.map((r) => Number(r.id))];
    if (over.length >= 2) expect((await invoke<IM.Group.IMGroupChangeMemberRsp>('GroupChangeMember', { userId: alice, changeType: 1, groupId: g, memberIdList: over })).resultCode).toBe(1);
    await send(alice, g, 'before removal');
    const removed = await invoke<IM.Group.IMGroupChangeMemberRsp>('GroupChangeMember', { userId: alice, changeType: 2, groupId: g, memberIdList: [carol] });
    expect(removed.resultCode).toBe(0);
    expect([...removed.curUserIdList].sort()).toEqual([alice, bob].sort());
    expect(await fx.redis.hexists(`group_member_${g}`, String(carol))).toBe(0);
    expect(await send(carol, g, 'gone')).toMatchObject({ result: STORE_REJECTED });
    const [sess] = await fx.pool.query<RowDataPacket[]>('SELECT status FROM IMRecentSession WHERE type = 2 AND peerId = ? AND userId = ?', [g, carol]);
    expect(sess.every((r) => Number(r.status) === 1)).toBe(true);
    const members = await invoke<tiertalk.GroupMembersRsp>('GroupMembers', { groupId: g });
    expect([...members.memberIds].sort()).toEqual([alice, bob].sort());
    expect(members.version).toBe(await version(g));
  });

  it('administration: role rules for quit, kick, set admin, dismiss; admin limit', async () => {
    const g = await createGroup(alice, [alice, bob, carol, dave]);
    const quit = (uid: number) => invoke<IM.Group.IMGroupQuitRsp>('GroupQuit', { userId: uid, groupId: g });
    const kick = (uid: number, ids: number[]) => invoke<IM.Group.IMGroupKickRsp>('GroupKick', { userId: uid, groupId: g, memberIdList: ids });
    const setAdmin = (uid: number, member: number, isAdmin: number) => invoke<IM.Group.IMGroupSetAdminRsp>('GroupSetAdmin', { userId: uid, groupId: g, memberId: member, isAdmin });
    const dismiss = (uid: number) => invoke<IM.Group.IMGroupDismissRsp>('GroupDismiss', { userId: uid, groupId: g });

    expect((await quit(alice)).resultCode).toBe(GROUP_ADMIN_NOT_ALLOWED);
    expect((await kick(carol, [dave])).resultCode).toBe(GROUP_ADMIN_NOT_ALLOWED);
    expect((await setAdmin(bob, carol, 1)).resultCode).toBe(GROUP_ADMIN_NOT_ALLOWED);
    expect((await setAdmin(alice, bob, 1)).resultCode).toBe(GROUP_ADMIN_OK);
    expect((await setAdmin(alice, carol, 1)).resultCode).toBe(GROUP_ADMIN_LIMIT_REACHED);
    expect((await kick(bob, [alice])).resultCode).toBe(GROUP_ADMIN_NOT_ALLOWED);
    const v = await version(g);
    const kicked = await kick(bob, [dave]);
    expect(kicked.resultCode).toBe(GROUP_ADMIN_OK);
    expect(kicked.chgUserIdList).toEqual([dave]);
    expect(await version(g)).toBe(v + 1);
    expect((await kick(dave, [carol])).resultCode).toBe(GROUP_ADMIN_NO_SUCH_GROUP);
    expect((await dismiss(bob)).resultCode).toBe(GROUP_ADMIN_NOT_ALLOWED);
    expect((await quit(carol)).resultCode).toBe(GROUP_ADMIN_OK);
    expect(await send(carol, g, 'left')).toMatchObject({ result: STORE_REJECTED });
    await send(alice, g, 'last words');
    expect((await dismiss(alice)).resultCode).toBe(GROUP_ADMIN_OK);
    expect(await fx.redis.exists(`group_member_${g}`)).toBe(0);
    expect(await send(alice, g, 'after dismiss')).toMatchObject({ result: STORE_REJECTED });
    expect((await invoke<tiertalk.GroupMembersRsp>('GroupMembers', { groupId: g })).version).toBe(0);
    const [kept] = await fx.pool.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM IMGroupMessage_${g % 8} WHERE groupId = ?`, [g]);
    expect(Number(kept[0].n)).toBe(1);
  });
});
