// Groups end to end (docs/FLOWS.md §10, §13; docs/FLOWS.md §14 G1-G10) and TierTalk's
// group administration (IM.Group 0x0420-0x042a): every command and role rule
// as a user sees it, over TCP against a real cluster with two gateways; the
// member cache after a Redis flush; a member offline during a 200-message
// burst; the operator's admin CLI.
import { execFile } from 'node:child_process';
import path from 'node:path';
import Redis from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { ClientError, GroupAdminAction, GroupAdminResult, GroupType, SessionType, TeamTalkClient } from '@tiertalk/client';
import { CID, IM } from '@tiertalk/proto';
import { GatewayInfo, repoRoot, testConfig, testPki, tlsEnv, waitFor } from '@tiertalk/testkit';
import { ANDROID, collectMessages, createUser, loggedIn, PC } from './helpers';
import { expectNothingBefore, textMarkerArrives } from './absence';
import { PushLog } from './pushes';
import { e2eSuite } from './suite';

jest.setTimeout(90_000);

const GROUP = SessionType.SESSION_TYPE_GROUP;
const ADD = IM.BaseDefine.GroupModifyType.GROUP_MODIFY_TYPE_ADD;
const DEL = IM.BaseDefine.GroupModifyType.GROUP_MODIFY_TYPE_DEL;
const ADMIN_LIMIT = 2;
const MEMBER_LIMIT = 8;
const ADMIN_CLI = path.join(repoRoot, 'services/admin/dist/cli.js');
// A message that is not ACKed within this is taken as refused (docs/FLOWS.md §10.2: no reply at all).
const NO_ACK_MS = 1500;
/** A seq_num the client's own requests do not reach in a test: the refused create's. */
const REFUSED_SEQ = 0xfff0;

const suite = e2eSuite('groups', {
  dbProxy: 1,
  route: 1,
  msg: 2,
  serviceEnv: {
    'db-proxy': { TT_GROUP_ADMIN_LIMIT: String(ADMIN_LIMIT), TT_GROUP_MEMBER_LIMIT: String(MEMBER_LIMIT) },
    // The 200-message burst comes from one connection.
    msg: { TT_MSG_RATE_PER_SEC: '0' },
  },
});
const gw1 = (): GatewayInfo => suite.gateway(0);
const gw2 = (): GatewayInfo => suite.gateway(1);
let userSeq = 0;

interface User {
  name: string;
  id: number;
}

async function newUser(prefix = 'gu'): Promise<User> {
  const name = `${prefix}${++userSeq}`;
  return { name, id: await createUser(suite.pool, name) };
}

async function users(n: number, prefix?: string): Promise<User[]> {
  const out: User[] = [];
  for (let i = 0; i < n; i += 1) out.push(await newUser(prefix));
  return out;
}

/**
 * Logs in, alternating gateways so every fan-out crosses both. A second device
 * of one user must be of the other client class (ANDROID), or the first is kicked (docs/FLOWS.md §2).
 */
async function online(u: User, gw?: GatewayInfo, clientType: IM.BaseDefine.ClientType = PC): Promise<TeamTalkClient> {
  return suite.track(await loggedIn(gw ?? (u.id % 2 === 0 ? gw1() : gw2()), u.name, clientType));
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const nextSecond = (): Promise<void> => new Promise((r) => setTimeout(r, 1050 - (Date.now() % 1000)));

async function refusal(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ClientError) return err;
    throw err;
  }
  throw new Error('expected a refusal, got success');
}

/** The IMGroupChangeMemberNotify pushes a client receives from now on. */
function changeNotifies(c: TeamTalkClient): IM.Group.IMGroupChangeMemberNotify[] {
  const got: IM.Group.IMGroupChangeMemberNotify[] = [];
  c.on('groupChangeMember', (n) => got.push(n));
  return got;
}

/** Waits for the first admin notify of that action among those collected. */
async function notified(notes: IM.Group.IMGroupAdminNotify[], action: IM.Group.GroupAdminAction, groupId?: number): Promise<IM.Group.IMGroupAdminNotify> {
  const match = (n: IM.Group.IMGroupAdminNotify): boolean => n.action === action && (groupId === undefined || n.groupId === groupId);
  await waitFor(() => notes.some(match), 5000, { what: `admin notify action ${action}` });
  const found = notes.find(match);
  if (!found) throw new Error('unreachable: waited for it');
  return found;
}

/** The IMGroupAdminNotify pushes a client receives from now on. */
function adminNotifies(c: TeamTalkClient): IM.Group.IMGroupAdminNotify[] {
  const got: IM.Group.IMGroupAdminNotify[] = [];
  c.on('groupAdmin', (n) => got.push(n));
  return got;
}

async function createTmpGroup(owner: TeamTalkClient, members: readonly User[], name = 'team'): Promise<number> {
  const ownerId = owner.userId ?? 0;
  const rsp = await owner.groups.createGroup(name, '', [ownerId, ...members.map((m) => m.id)]);
  return rsp.groupId;
}

async function storedGroupMessages(groupId: number): Promise<Array<{ msgId: number; userId: number; content: string }>> {
  const [rows] = await suite.pool.query<RowDataPacket[]>(`SELECT msgId, userId, content FROM IMGroupMessage_${groupId % 8} WHERE groupId = ? ORDER BY msgId`, [groupId]);
  return rows.map((r) => ({ msgId: Number(r.msgId), userId: Number(r.userId), content: String(r.content) }));
}

async function groupUnread(c: TeamTalkClient, groupId: number): Promise<number> {
  const rsp = await c.unreadCounts();
  return rsp.unreadinfoList.find((u) => u.sessionType === GROUP && u.sessionId === groupId)?.unreadCnt ?? 0;
}

/** Every message of a group session, paging back 20 at a time; oldest first. */
async function fullHistory(c: TeamTalkClient, groupId: number): Promise<IM.BaseDefine.MsgInfo.$Properties[]> {
  const all: IM.BaseDefine.MsgInfo.$Properties[] = [];
  let begin = 0;
  for (;;) {
    const page = (await c.messageList(GROUP, groupId, begin, 20)).msgList;
    all.push(...page);
    const oldest = page[page.length - 1];
    if (page.length < 20 || oldest === undefined || oldest.msgId <= 1) break;
    begin = oldest.msgId - 1;
  }
  return all.reverse();
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function adminCli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [ADMIN_CLI, ...args],
      // The operator's certificate (admin): the tiers speak mutual TLS.
      { env: { ...process.env, ...tlsEnv(testPki(), 'admin'), TT_ETCD_PREFIX: suite.cluster.prefix, TT_ETCD_ENDPOINTS: testConfig.etcdEndpoints.join(',') }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

describe('TeamTalk group commands (docs/FLOWS.md §14 G1-G10)', () => {
  it('G3: creates a temporary group (version 1, creator and members as sent); a NORMAL create gets no reply', async () => {
    const [o, a, b] = await users(3);
    const owner = await online(o);
    const rsp = await owner.groups.createGroup('tmp team', 'av.png', [o.id, a.id, b.id]);
    expect(rsp.resultCode).toBe(0);
    expect(rsp.groupId).toBeGreaterThan(0);
    expect(rsp.groupName).toBe('tmp team');
    expect([...rsp.userIdList].sort()).toEqual([o.id, a.id, b.id].sort());
    const [info] = await owner.groups.groupInfo([{ groupId: rsp.groupId, version: 0 }]);
    expect([info.version, info.groupName, info.groupAvatar, info.groupCreatorId, info.groupType]).toEqual([1, 'tmp team', 'av.png', o.id, GroupType.GROUP_TYPE_TMP]);
    expect([...(info.groupMemberList ?? [])].sort()).toEqual([o.id, a.id, b.id].sort());

    const [before] = await suite.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMGroup');
    const frames = new PushLog(owner);
    const normalCreate = IM.Group.IMGroupCreateReq.encode({ userId: o.id, groupType: GroupType.GROUP_TYPE_NORMAL, groupName: 'fixed', groupAvatar: '', memberIdList: [o.id, a.id] }).finish();
    owner.sendFrame(CID.CID_GROUP_CREATE_REQUEST, REFUSED_SEQ, normalCreate);
    // The marker: a TMP create on the same connection. Both creates pass the gateway's
    // request guard in order (same rate class, same user), where a rate or list refusal
    // would be answered at once; the NORMAL one is then refused by the relay's prepare
    // step (services/msg/src/handlers/group), synchronously, before anything goes to
    // db-proxy, and TeamTalk has no reply for that. Only then is the marker forwarded to
    // db-proxy, and its answer written. So any answer to the refused create came first;
    // the row count below covers the one path not ordered before it (a create that
    // reached db-proxy would have made a row).
    const marker = await owner.groups.createGroup('marker', '', [o.id, a.id]);
    await expectNothingBefore(
      frames,
      (r) => r.commandId === CID.CID_GROUP_CREATE_RESPONSE && IM.Group.IMGroupCreateRsp.decode(r.body).groupId === marker.groupId,
      (r) => r.commandId === CID.CID_GROUP_CREATE_RESPONSE && r.seqNum === REFUSED_SEQ,
    );
    const [after] = await suite.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMGroup');
    // One more: the marker's group.
    expect(after[0].n).toBe(before[0].n + 1);
  });

  it('G1: the normal group list holds only NORMAL groups the user is in, with their versions', async () => {
    const [o, a, outsider] = await users(3);
    const created = await adminCli('group', 'create', 'fixed team', '--owner', String(o.id), String(a.id), '--json');
    expect([created.code, created.stderr]).toEqual([0, '']);
    const normalId = Number(JSON.parse(created.stdout).groupId);
    const member = await online(a);
    const tmpId = await createTmpGroup(member, [o]);
    const list = await member.groups.normalGroupList();
    expect(list).toEqual([{ groupId: normalId, version: 1 }]);
    expect(list.map((g) => g.groupId)).not.toContain(tmpId);
    expect(await (await online(outsider)).groups.normalGroupList()).toEqual([]);
  });

  it('G2, G10: info only for groups newer than the version sent, with members and my shield status', async () => {
    const [o, a] = await users(2);
    const owner = await online(o);
    const gid = await createTmpGroup(owner, [a]);
    expect(await owner.groups.groupInfo([{ groupId: gid, version: 1 }])).toEqual([]);
    expect((await owner.groups.groupInfo([{ groupId: gid, version: 0 }])).map((g) => [g.groupId, g.shieldStatus])).toEqual([[gid, 0]]);
    const shield = await owner.groups.shieldGroup(gid, true);
    expect(shield.resultCode).toBe(0);
    expect((await owner.groups.groupInfo([{ groupId: gid, version: 0 }]))[0].shieldStatus).toBe(1);
    // Shield is per member: the other member still sees 0.
    const member = await online(a);
    expect((await member.groups.groupInfo([{ groupId: gid, version: 0 }]))[0].shieldStatus).toBe(0);
    await owner.groups.shieldGroup(gid, false);
    expect((await owner.groups.groupInfo([{ groupId: gid, version: 0 }]))[0].shieldStatus).toBe(0);
  });

  it('G6, G8: adding members answers cur and chg lists, bumps the version, and notifies cur and chg members on both gateways but not the requesting connection', async () => {
    const [o, a, n1, n2] = await users(4);
    const owner = await online(o, gw1());
    const ownerOther = await online(o, gw2(), ANDROID);
    const member = await online(a, gw2());
    const newcomer = await online(n1, gw1());
    const gid = await createTmpGroup(owner, [a]);
    const seen = { owner: changeNotifies(owner), ownerOther: changeNotifies(ownerOther), member: changeNotifies(member), newcomer: changeNotifies(newcomer) };
    const rsp = await owner.groups.changeGroupMembers(gid, 'add', [n1.id, n2.id]);
    expect(rsp.changeType).toBe(ADD);
    expect([...rsp.curUserIdList].sort()).toEqual([o.id, a.id, n1.id, n2.id].sort());
    expect([...rsp.chgUserIdList].sort()).toEqual([n1.id, n2.id].sort());
    await waitFor(() => seen.member.length > 0 && seen.newcomer.length > 0 && seen.ownerOther.length > 0, 5000);
    for (const n of [seen.member[0], seen.newcomer[0], seen.ownerOther[0]]) {
      expect([n.groupId, n.changeType, n.userId]).toEqual([gid, ADD, o.id]);
      expect([...n.chgUserIdList].sort()).toEqual([n1.id, n2.id].sort());
    }
    // Routed to both gateways (seen there): a later message to the owner is pushed after any notify to it.
    await textMarkerArrives(member, o.id, owner);
    expect(seen.owner).toEqual([]);
    expect((await owner.groups.groupInfo([{ groupId: gid, version: 1 }]))[0].version).toBe(2);

    // TMP group: any member may add, only the creator may remove (docs/FLOWS.md §10.4).
    const n3 = await newUser();
    expect((await member.groups.changeGroupMembers(gid, 'add', [n3.id])).curUserIdList).toContain(n3.id);
    expect((await refusal(member.groups.changeGroupMembers(gid, 'del', [n1.id]))).code).toBe('REQUEST_REFUSED');
  });

  it('G7: the creator removes members; the removed get the notify and lose the group session, the group and its info', async () => {
    const [o, a, b] = await users(3);
    const owner = await online(o);
    const removed = await online(a);
    const stays = await online(b);
    const gid = await createTmpGroup(owner, [a, b]);
    await stays.groups.sendGroupText(gid, 'before removal');
    await waitFor(async () => (await removed.recentSessions()).contactSessionList.some((s) => s.sessionType === GROUP && s.sessionId === gid), 8000);
    const removedNotes = changeNotifies(removed);
    const rsp = await owner.groups.changeGroupMembers(gid, 'del', [a.id]);
    expect(rsp.changeType).toBe(DEL);
    expect([...rsp.curUserIdList].sort()).toEqual([o.id, b.id].sort());
    await waitFor(() => removedNotes.length > 0, 5000);
    expect([removedNotes[0].changeType, removedNotes[0].chgUserIdList]).toEqual([DEL, [a.id]]);
    expect((await removed.recentSessions()).contactSessionList.filter((s) => s.sessionType === GROUP && s.sessionId === gid)).toEqual([]);
    expect(await removed.groups.groupInfo([{ groupId: gid, version: 0 }])).toEqual([]);
    expect((await refusal(removed.groups.sendGroupText(gid, 'still here?', { timeoutMs: NO_ACK_MS }))).code).toBe('NOT_STORED');
  });

  it('G4: ids 1, 2, 3 per group; every member connection on both gateways gets each message, the sending connection does not', async () => {
    const [o, a, b] = await users(3);
    const owner = await online(o, gw1());
    const ownerOther = await online(o, gw2(), ANDROID);
    const ma = await online(a, gw1());
    const mb = await online(b, gw2());
    const gid = await createTmpGroup(owner, [a, b]);
    const otherGid = await createTmpGroup(owner, [a]);
    const markerGid = await createTmpGroup(owner, [a, b]);
    const got = { owner: collectMessages(owner), ownerOther: collectMessages(ownerOther), ma: collectMessages(ma), mb: collectMessages(mb) };
    const acks = [await owner.groups.sendGroupText(gid, 'one'), await ma.groups.sendGroupText(gid, 'two'), await mb.groups.sendGroupText(gid, 'three')];
    expect(acks.map((x) => x.msgId)).toEqual([1, 2, 3]);
    expect((await owner.groups.sendGroupText(otherGid, 'other group')).msgId).toBe(1);
    const counts = (): string => Object.entries(got).map(([k, v]) => `${k}:${v.map((m) => `${m.toSessionId}/${m.msgId}`).join(',')}`).join(' ');
    await waitFor(() => got.ownerOther.length >= 4 && got.ma.length >= 3 && got.mb.length >= 2 && got.owner.length >= 2, 5000, { what: 'fan-out', intervalMs: 50 }).catch((err: unknown) => {
      throw new Error(`${String(err)}; received ${counts()}`);
    });
    // Markers in a third group (group frames queue on the gateway, so only a group message orders
    // after one): every frame routed so far, duplicates included, reaches each connection first.
    const markers = { fromMb: await mb.groups.sendGroupText(markerGid, 'marker'), fromMa: await ma.groups.sendGroupText(markerGid, 'marker') };
    const markerIn = (ms: IM.Message.IMMsgData[], msgId: number): boolean => ms.some((m) => m.toSessionId === markerGid && m.msgId === msgId);
    await waitFor(() => [got.owner, got.ownerOther, got.ma].every((ms) => markerIn(ms, markers.fromMb.msgId)) && markerIn(got.mb, markers.fromMa.msgId), 5000, { what: 'the markers' });
    const ids = (ms: IM.Message.IMMsgData[], g: number): number[] => ms.filter((m) => m.toSessionId === g).map((m) => m.msgId);
    expect(ids(got.owner, gid)).toEqual([2, 3]);
    expect(ids(got.ownerOther, gid)).toEqual([1, 2, 3]);
    expect(ids(got.ma, gid)).toEqual([1, 3]);
    expect(ids(got.mb, gid)).toEqual([1, 2]);
    const first = got.mb[0];
    expect([first.fromUserId, first.toSessionId, first.msgType, text(first.msgData)]).toEqual([o.id, gid, IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT, 'one']);
    expect((await storedGroupMessages(gid)).map((m) => [m.msgId, m.userId, m.content])).toEqual([
      [1, o.id, 'one'],
      [2, a.id, 'two'],
      [3, b.id, 'three'],
    ]);
    // A group audio message is stored and delivered the same way.
    const audio = await ma.groups.sendGroupAudio(gid, 2, Buffer.from('opus'));
    expect(audio.msgId).toBe(4);
  });

  it('G5: a non-member\'s message is refused (msg_id 0), is stored nowhere and reaches no one', async () => {
    const [o, a, outsider] = await users(3);
    const owner = await online(o);
    const member = await online(a);
    const gid = await createTmpGroup(owner, [a]);
    const got = collectMessages(member);
    const stranger = await online(outsider);
    expect((await refusal(stranger.groups.sendGroupText(gid, 'let me in', { timeoutMs: NO_ACK_MS }))).code).toBe('NOT_STORED');
    expect(await storedGroupMessages(gid)).toEqual([]);
    expect(got).toEqual([]);
    // ... nor does one to a group that does not exist.
    expect((await refusal(stranger.groups.sendGroupText(gid + 100_000, 'nobody', { timeoutMs: NO_ACK_MS }))).code).toBe('NOT_STORED');
  });

  it('G9: group unread counts messages since the member last read or sent; read ack clears it; history is filtered by join time', async () => {
    const [o, a, late] = await users(3);
    const owner = await online(o);
    const gid = await createTmpGroup(owner, [a]);
    for (const t of ['m1', 'm2', 'm3']) await owner.groups.sendGroupText(gid, t);
    const member = await online(a);
    expect(await groupUnread(member, gid)).toBe(3);
    expect(await groupUnread(owner, gid)).toBe(0);
    const unreadInfo = (await member.unreadCounts()).unreadinfoList.find((u) => u.sessionId === gid && u.sessionType === GROUP);
    expect([unreadInfo?.latestMsgId, text(unreadInfo?.latestMsgData ?? new Uint8Array()), unreadInfo?.latestMsgFromUserId]).toEqual([3, 'm3', o.id]);
    // Sending marks the group read for the sender.
    await member.groups.sendGroupText(gid, 'm4 from a');
    expect(await groupUnread(member, gid)).toBe(0);
    expect(await groupUnread(owner, gid)).toBe(1);
    owner.readAck(GROUP, gid, 4);
    await waitFor(async () => (await groupUnread(owner, gid)) === 0, 5000);

    const history = await member.messageList(GROUP, gid, 0, 20);
    expect(history.msgList.map((m) => [m.msgId, text(m.msgData)])).toEqual([
      [4, 'm4 from a'],
      [3, 'm3'],
      [2, 'm2'],
      [1, 'm1'],
    ]);
    expect((await member.messagesById(GROUP, gid, [2])).msgList.map((m) => text(m.msgData))).toEqual(['m2']);
    expect(await member.latestMsgId(GROUP, gid)).toBe(4);

    // A member who joins later sees only what was sent after joining.
    await nextSecond();
    await owner.groups.changeGroupMembers(gid, 'add', [late.id]);
    await nextSecond();
    await owner.groups.sendGroupText(gid, 'm5 after join');
    const newcomer = await online(late);
    expect((await newcomer.messageList(GROUP, gid, 0, 20)).msgList.map((m) => m.msgId)).toEqual([5]);
    expect(await groupUnread(newcomer, gid)).toBe(1);
  });

  it('the group session appears in every member\'s recent sessions', async () => {
    const [o, a] = await users(2);
    const owner = await online(o);
    const member = await online(a);
    const gid = await createTmpGroup(owner, [a]);
    await owner.groups.sendGroupText(gid, 'recent');
    for (const c of [owner, member]) {
      // docs/FLOWS.md §13: TeamTalk's sync pass runs every 5 s.
      await waitFor(async () => (await c.recentSessions()).contactSessionList.some((s) => s.sessionType === GROUP && s.sessionId === gid), 8000);
      const s = (await c.recentSessions()).contactSessionList.find((x) => x.sessionType === GROUP && x.sessionId === gid);
      expect([s?.latestMsgId, text(s?.latestMsgData ?? new Uint8Array()), s?.latestMsgFromUserId]).toEqual([1, 'recent', o.id]);
    }
  });
});

describe('group administration (TierTalk extensions) and role rules', () => {
  async function setup(): Promise<{ gid: number; o: User; adm: User; m1: User; m2: User; owner: TeamTalkClient; admin: TeamTalkClient; member1: TeamTalkClient; member2: TeamTalkClient }> {
    const [o, adm, m1, m2] = await users(4, 'ga');
    const owner = await online(o, gw1());
    const admin = await online(adm, gw2());
    const member1 = await online(m1, gw1());
    const member2 = await online(m2, gw2());
    const gid = await createTmpGroup(owner, [adm, m1, m2], 'admins');
    const set = await owner.groups.setGroupAdmin(gid, adm.id, true);
    expect([set.resultCode, set.memberId, set.isAdmin]).toEqual([0, adm.id, 1]);
    return { gid, o, adm, m1, m2, owner, admin, member1, member2 };
  }

  it('set-admin is owner only and notifies every member', async () => {
    const [o, a, b] = await users(3, 'ga');
    const owner = await online(o);
    const ma = await online(a);
    const mb = await online(b);
    const gid = await createTmpGroup(owner, [a, b]);
    const notes = adminNotifies(mb);
    expect((await refusal(ma.groups.setGroupAdmin(gid, b.id, true))).resultCode).toBe(GroupAdminResult.GROUP_ADMIN_NOT_ALLOWED);
    await owner.groups.setGroupAdmin(gid, a.id, true);
    const set = await notified(notes, GroupAdminAction.GROUP_ACTION_SET_ADMIN);
    expect([set.operatorId, set.groupId, set.memberIdList]).toEqual([o.id, gid, [a.id]]);
    // An admin cannot make admins either.
    expect((await refusal(ma.groups.setGroupAdmin(gid, b.id, true))).resultCode).toBe(GroupAdminResult.GROUP_ADMIN_NOT_ALLOWED);
    await owner.groups.setGroupAdmin(gid, a.id, false);
    await notified(notes, GroupAdminAction.GROUP_ACTION_UNSET_ADMIN);
  });

  it('a member cannot kick; an admin kicks a plain member but not an admin and cannot dismiss; the owner kicks an admin', async () => {
    const { gid, o, adm, m1, m2, owner, admin, member1, member2 } = await setup();
    expect((await refusal(member1.groups.kickFromGroup(gid, [m2.id]))).resultCode).toBe(GroupAdminResult.GROUP_ADMIN_NOT_ALLOWED);
    expect((await refusal(member1.groups.kickFromGroup(gid, [adm.id]))).resultCode).toBe(GroupAdminResult.GROUP_ADMIN_NOT_ALLOWED);

    const kickedNotes = adminNotifies(member2);
    const ownerNotes = adminNotifies(owner);
    const kick = await admin.groups.kickFromGroup(gid, [m2.id]);
    expect(kick.chgUserIdList).toEqual([m2.id]);
    expect([...kick.curUserIdList].sort()).toEqual([o.id, adm.id, m1.id].sort());
    await notified(ownerNotes, GroupAdminAction.GROUP_ACTION_KICK);
    const kicked = await notified(kickedNotes, GroupAdminAction.GROUP_ACTION_KICK);
    expect([kicked.operatorId, kicked.memberIdList]).toEqual([adm.id, [m2.id]]);
    expect((await refusal(member2.groups.sendGroupText(gid, 'kicked?', { timeoutMs: NO_ACK_MS }))).code).toBe('NOT_STORED');

    // A second admin cannot be kicked by the first, nor can the owner.
    await owner.groups.setGroupAdmin(gid, m1.id, true);
    expect((await refusal(admin.groups.kickFromGroup(gid, [m1.id]))).resultCode).toBe(GroupAdminResult.GROUP_ADMIN_NOT_ALLOWED);
    expect((await refusal(admin.groups.kickFromGroup(gid, [o.id]))).resultCode).toBe(GroupAdminResult.GROUP_ADMIN_NOT_ALLOWED);
    expect((await refusal(admin.groups.dismissGroup(gid))).resultCode).toBe(GroupAdminResult.GROUP_ADMIN_NOT_ALLOWED);
    expect((await refusal(member1.groups.dismissGroup(gid))).resultCode).toBe(GroupAdminResult.GROUP_ADMIN_NOT_ALLOWED);

    expect((await owner.groups.kickFromGroup(gid, [m1.id])).chgUserIdList).toEqual([m1.id]);
    expect((await owner.groups.groupInfo([{ groupId: gid, version: 0 }]))[0].groupMemberList?.sort()).toEqual([o.id, adm.id].sort());
  });

  it('the owner dismisses: every member is told, the group is gone for posting, info and lists', async () => {
    const { gid, owner, admin, member1 } = await setup();
    const notes = adminNotifies(member1);
    const adminNotes = adminNotifies(admin);
    expect((await owner.groups.dismissGroup(gid)).resultCode).toBe(0);
    await notified(adminNotes, GroupAdminAction.GROUP_ACTION_DISMISS, gid);
    expect((await notified(notes, GroupAdminAction.GROUP_ACTION_DISMISS)).groupId).toBe(gid);
    expect((await refusal(member1.groups.sendGroupText(gid, 'gone?', { timeoutMs: NO_ACK_MS }))).code).toBe('NOT_STORED');
    expect((await refusal(owner.groups.sendGroupText(gid, 'gone?', { timeoutMs: NO_ACK_MS }))).code).toBe('NOT_STORED');
    expect(await member1.groups.groupInfo([{ groupId: gid, version: 0 }])).toEqual([]);
    expect((await refusal(owner.groups.dismissGroup(gid))).code).toBe('REQUEST_REFUSED');
  });

  it('a member quits (the others are told; the owner cannot quit)', async () => {
    const { gid, o, m1, owner, member1, member2 } = await setup();
    const notes = adminNotifies(member2);
    expect((await member1.groups.quitGroup(gid)).resultCode).toBe(0);
    const quit = await notified(notes, GroupAdminAction.GROUP_ACTION_QUIT);
    expect(quit.memberIdList).toEqual([m1.id]);
    expect(quit.curUserIdList).not.toContain(m1.id);
    expect((await refusal(member1.groups.sendGroupText(gid, 'left', { timeoutMs: NO_ACK_MS }))).code).toBe('NOT_STORED');
    expect((await refusal(member1.groups.quitGroup(gid))).code).toBe('REQUEST_REFUSED');
    expect((await refusal(owner.groups.quitGroup(gid))).code).toBe('REQUEST_REFUSED');
    expect((await owner.groups.groupInfo([{ groupId: gid, version: 0 }]))[0].groupMemberList).toContain(o.id);
  });

  it('a non-member cannot post, read history, read unread, get info or administer', async () => {
    const { gid, m1, member1 } = await setup();
    const outsiderUser = await newUser('gx');
    const outsider = await online(outsiderUser);
    const before = await storedGroupMessages(gid);
    await member1.groups.sendGroupText(gid, 'members only');
    expect((await refusal(outsider.groups.sendGroupText(gid, 'hi', { timeoutMs: NO_ACK_MS }))).code).toBe('NOT_STORED');
    expect((await storedGroupMessages(gid)).length).toBe(before.length + 1);
    expect((await outsider.messageList(GROUP, gid, 0, 20)).msgList).toEqual([]);
    expect((await outsider.messagesById(GROUP, gid, [1])).msgList).toEqual([]);
    expect(await groupUnread(outsider, gid)).toBe(0);
    expect(await outsider.groups.groupInfo([{ groupId: gid, version: 0 }])).toEqual([]);
    expect((await refusal(outsider.groups.kickFromGroup(gid, [m1.id]))).code).toBe('REQUEST_REFUSED');
    expect((await refusal(outsider.groups.muteGroupMember(gid, 0, 60))).code).toBe('REQUEST_REFUSED');
    expect((await refusal(outsider.groups.dismissGroup(gid))).code).toBe('REQUEST_REFUSED');
  });

  it('a muted member\'s post is refused (msg_id 0) and is not stored; unmuted it goes through; admins cannot mute admins, members cannot mute', async () => {
    const { gid, o, m1, admin, member1, member2 } = await setup();
    expect((await refusal(member2.groups.muteGroupMember(gid, m1.id, 60))).resultCode).toBe(GroupAdminResult.GROUP_ADMIN_NOT_ALLOWED);
    expect((await refusal(admin.groups.muteGroupMember(gid, o.id, 60))).resultCode).toBe(GroupAdminResult.GROUP_ADMIN_NOT_ALLOWED);
    const notes = adminNotifies(member1);
    const mute = await admin.groups.muteGroupMember(gid, m1.id, 60);
    const now = Math.floor(Date.now() / 1000);
    expect(mute.muteUntil).toBeGreaterThanOrEqual(now + 55);
    expect(mute.muteUntil).toBeLessThanOrEqual(now + 61);
    const muted = await notified(notes, GroupAdminAction.GROUP_ACTION_MUTE_MEMBER);
    expect([muted.memberIdList, muted.muteUntil]).toEqual([[m1.id], mute.muteUntil]);
    const received = collectMessages(member2);
    const before = await storedGroupMessages(gid);
    expect((await refusal(member1.groups.sendGroupText(gid, 'muted words', { timeoutMs: NO_ACK_MS }))).code).toBe('NOT_STORED');
    expect(await storedGroupMessages(gid)).toEqual(before);
    expect(received).toEqual([]);
    // Others still post.
    expect((await member2.groups.sendGroupText(gid, 'not muted')).msgId).toBe(before.length + 1);
    await admin.groups.muteGroupMember(gid, m1.id, 0);
    expect((await member1.groups.sendGroupText(gid, 'free again')).msgId).toBe(before.length + 2);
  });

  it('a whole-group mute silences plain members until lifted; the owner and admins still post', async () => {
    const { gid, owner, admin, member1 } = await setup();
    const notes = adminNotifies(member1);
    const mute = await owner.groups.muteGroupMember(gid, 0, 120);
    expect(mute.muteUntil).toBeGreaterThan(Math.floor(Date.now() / 1000) + 100);
    expect((await notified(notes, GroupAdminAction.GROUP_ACTION_MUTE_ALL)).memberIdList).toEqual([]);
    const before = await storedGroupMessages(gid);
    expect((await refusal(member1.groups.sendGroupText(gid, 'shh', { timeoutMs: NO_ACK_MS }))).code).toBe('NOT_STORED');
    expect(await storedGroupMessages(gid)).toEqual(before);
    expect((await owner.groups.sendGroupText(gid, 'announcement')).msgId).toBe(before.length + 1);
    expect((await admin.groups.sendGroupText(gid, 'admin note')).msgId).toBe(before.length + 2);
    await admin.groups.muteGroupMember(gid, 0, 0);
    await notified(notes, GroupAdminAction.GROUP_ACTION_UNMUTE_ALL);
    expect((await member1.groups.sendGroupText(gid, 'talk')).msgId).toBe(before.length + 3);
  });

  it('the admin limit and the member limit are enforced', async () => {
    const { gid, m1, m2, owner } = await setup();
    // setup() made one admin; the limit is ADMIN_LIMIT.
    await owner.groups.setGroupAdmin(gid, m1.id, true);
    expect((await refusal(owner.groups.setGroupAdmin(gid, m2.id, true))).resultCode).toBe(GroupAdminResult.GROUP_ADMIN_LIMIT_REACHED);
    // 4 members now; filling up to MEMBER_LIMIT works, one more does not.
    const extra = await users(MEMBER_LIMIT - 4 + 1, 'gl');
    await owner.groups.changeGroupMembers(gid, 'add', extra.slice(0, MEMBER_LIMIT - 4).map((u) => u.id));
    const last = extra[extra.length - 1];
    expect((await refusal(owner.groups.changeGroupMembers(gid, 'add', [last.id]))).code).toBe('REQUEST_REFUSED');
    expect((await owner.groups.groupInfo([{ groupId: gid, version: 0 }]))[0].groupMemberList).toHaveLength(MEMBER_LIMIT);
    const tooMany = await users(MEMBER_LIMIT, 'gl');
    expect((await refusal(owner.groups.createGroup('huge', '', [owner.userId ?? 0, ...tooMany.map((u) => u.id)]))).code).toBe('REQUEST_REFUSED');
  });

  it('hostile ids and strings are refused or stored verbatim, never crash a tier', async () => {
    const o = await newUser('gh');
    const owner = await online(o);
    const evil = "'; DROP TABLE IMGroup; -- \u0000\u202e😀";
    const rsp = await owner.groups.createGroup(evil, evil, [o.id, 0, 4_294_967_295]);
    const [info] = await owner.groups.groupInfo([{ groupId: rsp.groupId, version: 0 }]);
    expect(info.groupName).toBe(evil);
    expect(info.groupMemberList).toEqual([o.id]);
    expect((await refusal(owner.groups.kickFromGroup(0, [o.id]))).code).toBe('REQUEST_REFUSED');
    expect((await refusal(owner.groups.muteGroupMember(rsp.groupId, 4_294_967_295, 10))).code).toBe('REQUEST_REFUSED');
    expect((await owner.groups.sendGroupText(rsp.groupId, evil)).msgId).toBe(1);
    expect((await storedGroupMessages(rsp.groupId))[0].content).toBe(evil);
    for (const i of suite.cluster.instanceInfo()) expect(i.alive).toBe(true);
  });
});

describe('member cache and storage', () => {
  it('rebuilds the member cache after FLUSHDB: members still post and receive, outsiders are still refused', async () => {
    const [o, a, outsiderUser] = await users(3, 'gf');
    const owner = await online(o, gw1());
    const member = await online(a, gw2());
    const gid = await createTmpGroup(owner, [a]);
    const got = collectMessages(member);
    await owner.groups.sendGroupText(gid, 'before flush');
    const redis = new Redis(suite.redisUrls.dbProxy);
    try {
      expect(await redis.exists(`group_member_${gid}`)).toBe(1);
      await redis.flushdb();
      expect((await owner.groups.sendGroupText(gid, 'after flush')).msgId).toBe(2);
      await waitFor(() => got.length >= 2, 5000);
      expect(got.map((m) => [m.msgId, text(m.msgData)])).toEqual([
        [1, 'before flush'],
        [2, 'after flush'],
      ]);
      expect(await redis.hkeys(`group_member_${gid}`)).toEqual(expect.arrayContaining([String(o.id), String(a.id)]));
      expect((await member.groups.groupInfo([{ groupId: gid, version: 0 }]))[0].groupMemberList?.sort()).toEqual([o.id, a.id].sort());
      const outsider = await online(outsiderUser);
      expect((await refusal(outsider.groups.sendGroupText(gid, 'sneak', { timeoutMs: NO_ACK_MS }))).code).toBe('NOT_STORED');
      expect((await member.messageList(GROUP, gid, 0, 20)).msgList.map((m) => m.msgId)).toEqual([2, 1]);
    } finally {
      redis.disconnect();
    }
  });

  it('a member offline during a burst of 200 group messages gets all of them through unread and history', async () => {
    const [o, a, away] = await users(3, 'gb');
    const sender = await online(o, gw1());
    const live = await online(a, gw2());
    const gid = await createTmpGroup(sender, [a, away]);
    const liveGot = collectMessages(live);
    const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => sender.groups.sendGroupText(gid, `burst ${i + 1}`, { timeoutMs: 20_000 })));
    expect(acks.map((x) => x.msgId).sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const stored = await storedGroupMessages(gid);
    expect(stored.map((m) => m.msgId)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await waitFor(() => liveGot.length >= 200, 15_000);
    expect(new Set(liveGot.map((m) => m.msgId)).size).toBe(200);

    const back = await online(away);
    expect(await groupUnread(back, gid)).toBe(200);
    const history = await fullHistory(back, gid);
    expect(history.map((m) => m.msgId)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    // Message i carries text "burst i" (ACK order is the id order on one connection).
    const byId = new Map(stored.map((m) => [m.msgId, m.content]));
    for (const m of history) expect(text(m.msgData)).toBe(byId.get(m.msgId));
    back.readAck(GROUP, gid, 200);
    await waitFor(async () => (await groupUnread(back, gid)) === 0, 5000);
  });
});

describe('operator admin CLI', () => {
  it('creates, shows, changes and dismisses a group as its owner; members get the notifies; refusals exit 1, usage errors 2', async () => {
    const [o, a, b, c] = await users(4, 'gc');
    const ma = await online(a, gw1());
    const mb = await online(b, gw2());
    const changes = changeNotifies(mb);
    const admins = adminNotifies(ma);

    const created = await adminCli('group', 'create', 'ops room', '--owner', String(o.id), String(a.id), String(b.id), '--json');
    expect([created.code, created.stderr]).toEqual([0, '']);
    const gid = Number(JSON.parse(created.stdout).groupId);
    expect(gid).toBeGreaterThan(0);
    await waitFor(() => changes.length > 0, 5000);
    expect(changes[0].groupId).toBe(gid);
    expect((await ma.groups.normalGroupList()).map((g) => g.groupId)).toContain(gid);

    const info = await adminCli('info', String(gid));
    expect(info.code).toBe(0);
    expect(info.stdout).toContain(`group ${gid} "ops room" (normal), owner ${o.id}, version 1`);
    const members = await adminCli('members', String(gid), '--json');
    expect((JSON.parse(members.stdout) as unknown[]).map(Number).sort()).toEqual([o.id, a.id, b.id].sort());
    expect((await adminCli('list', String(a.id), '--json')).stdout).toContain(`"groupId":${gid}`);

    expect((await adminCli('add', String(gid), String(c.id))).code).toBe(0);
    await waitFor(() => changes.some((n) => n.changeType === ADD && n.chgUserIdList.includes(c.id)), 5000);
    expect((await adminCli('remove', String(gid), String(c.id))).code).toBe(0);
    await waitFor(() => changes.some((n) => n.changeType === DEL && n.chgUserIdList.includes(c.id)), 5000);

    expect((await adminCli('set-admin', String(gid), String(a.id))).code).toBe(0);
    await waitFor(() => admins.some((n) => n.action === GroupAdminAction.GROUP_ACTION_SET_ADMIN), 5000);
    expect((await adminCli('mute', String(gid), String(b.id), '60')).code).toBe(0);
    expect((await refusal(mb.groups.sendGroupText(gid, 'muted', { timeoutMs: NO_ACK_MS }))).code).toBe('NOT_STORED');
    expect((await adminCli('unmute', String(gid), String(b.id))).code).toBe(0);
    expect((await mb.groups.sendGroupText(gid, 'back')).msgId).toBe(1);
    expect((await adminCli('mute', String(gid), 'all', '60')).code).toBe(0);
    await waitFor(() => admins.some((n) => n.action === GroupAdminAction.GROUP_ACTION_MUTE_ALL), 5000);
    expect((await adminCli('unmute', String(gid), 'all')).code).toBe(0);
    expect((await adminCli('unset-admin', String(gid), String(a.id))).code).toBe(0);

    // Acting as a plain member is refused (exit 1); an unknown group too.
    const refused = await adminCli('dismiss', String(gid), '--as', String(b.id));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refused');
    expect((await adminCli('info', '999999999')).code).toBe(1);
    // Usage errors exit 2.
    expect((await adminCli('mute', String(gid), 'x', '5')).code).toBe(2);
    expect((await adminCli('frobnicate')).code).toBe(2);

    expect((await adminCli('dismiss', String(gid))).code).toBe(0);
    await waitFor(() => admins.some((n) => n.action === GroupAdminAction.GROUP_ACTION_DISMISS && n.groupId === gid), 5000);
    expect((await adminCli('members', String(gid))).code).toBe(1);
  });
});
