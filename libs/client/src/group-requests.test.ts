// The SDK's group requests (docs/FLOWS.md §10) and TierTalk's administration
// extensions against the fake gateway: the right command ids and bodies go
// out, replies are matched by seq_num, result codes become errors, the group
// notifies become events, a group message's ACK marks it shown.
import { CID, IM } from '@tiertalk/proto';
import { SELF, acceptLogin, startTcpServer, type FakeConn, type FakeServer } from '../test/fake-gateway';
import { TeamTalkClient } from './node-client';
import { ClientError } from './errors';

const GID = 77;
const PEER = 2002;
const GROUP = IM.BaseDefine.SessionType.SESSION_TYPE_GROUP;

let server: FakeServer;
const clients: TeamTalkClient[] = [];

beforeEach(async () => {
  server = await startTcpServer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

async function loggedIn(requestTimeoutMs = 2000): Promise<{ client: TeamTalkClient; conn: FakeConn }> {
  const client = await TeamTalkClient.connect({ host: '127.0.0.1', port: server.port, heartbeatMs: 0, requestTimeoutMs });
  clients.push(client);
  const conn = await server.nextConn();
  await Promise.all([client.login('alice', 'secret'), acceptLogin(conn)]);
  return { client, conn };
}

async function errorOf(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ClientError) return err;
    throw err;
  }
  throw new Error('resolved');
}

interface Case {
  name: string;
  reqCid: number;
  rspCid: number;
  call(c: TeamTalkClient): Promise<unknown>;
  /** Checks the request body; returns the response body with result `code`. */
  answer(req: Uint8Array, code: number): Uint8Array;
  /** True when a non-zero result is a REQUEST_REFUSED (false: no result code in the reply). */
  refusable: boolean;
}

const cases: Case[] = [
  {
    name: 'normalGroupList',
    reqCid: CID.CID_GROUP_NORMAL_LIST_REQUEST,
    rspCid: CID.CID_GROUP_NORMAL_LIST_RESPONSE,
    call: async (c) => expect(await c.groups.normalGroupList()).toEqual([{ groupId: GID, version: 3 }]),
    answer(b) {
      expect(IM.Group.IMNormalGroupListReq.decode(b).userId).toBe(SELF);
      return IM.Group.IMNormalGroupListRsp.encode({ userId: SELF, groupVersionList: [{ groupId: GID, version: 3 }] }).finish();
    },
    refusable: false,
  },
  {
    name: 'groupInfo',
    reqCid: CID.CID_GROUP_INFO_REQUEST,
    rspCid: CID.CID_GROUP_INFO_RESPONSE,
    call: async (c) => {
      const infos = await c.groups.groupInfo([{ groupId: GID, version: 2 }]);
      expect(infos.map((i) => [i.groupId, i.version, i.groupMemberList, i.shieldStatus])).toEqual([[GID, 3, [SELF, PEER], 1]]);
    },
    answer(b) {
      const req = IM.Group.IMGroupInfoListReq.decode(b);
      expect(req.groupVersionList.map((v) => [v.groupId, v.version])).toEqual([[GID, 2]]);
      return IM.Group.IMGroupInfoListRsp.encode({
        userId: SELF,
        groupInfoList: [{ groupId: GID, version: 3, groupName: 'g', groupAvatar: '', groupCreatorId: SELF, groupType: 2, shieldStatus: 1, groupMemberList: [SELF, PEER] }],
      }).finish();
    },
    refusable: false,
  },
  {
    name: 'createGroup',
    reqCid: CID.CID_GROUP_CREATE_REQUEST,
    rspCid: CID.CID_GROUP_CREATE_RESPONSE,
    call: async (c) => expect((await c.groups.createGroup('team', 'a.png', [SELF, PEER])).groupId).toBe(GID),
    answer(b, code) {
      const req = IM.Group.IMGroupCreateReq.decode(b);
      expect([req.groupType, req.groupName, req.groupAvatar, req.memberIdList]).toEqual([IM.BaseDefine.GroupType.GROUP_TYPE_TMP, 'team', 'a.png', [SELF, PEER]]);
      return IM.Group.IMGroupCreateRsp.encode({ userId: SELF, resultCode: code, groupId: code === 0 ? GID : 0, groupName: 'team', userIdList: [SELF, PEER] }).finish();
    },
    refusable: true,
  },
  {
    name: 'changeGroupMembers',
    reqCid: CID.CID_GROUP_CHANGE_MEMBER_REQUEST,
    rspCid: CID.CID_GROUP_CHANGE_MEMBER_RESPONSE,
    call: async (c) => expect((await c.groups.changeGroupMembers(GID, 'del', [PEER])).curUserIdList).toEqual([SELF]),
    answer(b, code) {
      const req = IM.Group.IMGroupChangeMemberReq.decode(b);
      expect([req.changeType, req.groupId, req.memberIdList]).toEqual([IM.BaseDefine.GroupModifyType.GROUP_MODIFY_TYPE_DEL, GID, [PEER]]);
      return IM.Group.IMGroupChangeMemberRsp.encode({ userId: SELF, changeType: 2, resultCode: code, groupId: GID, curUserIdList: [SELF], chgUserIdList: [PEER] }).finish();
    },
    refusable: true,
  },
  {
    name: 'shieldGroup',
    reqCid: CID.CID_GROUP_SHIELD_GROUP_REQUEST,
    rspCid: CID.CID_GROUP_SHIELD_GROUP_RESPONSE,
    call: (c) => c.groups.shieldGroup(GID, true),
    answer(b, code) {
      expect(IM.Group.IMGroupShieldReq.decode(b).shieldStatus).toBe(1);
      return IM.Group.IMGroupShieldRsp.encode({ userId: SELF, groupId: GID, resultCode: code }).finish();
    },
    refusable: true,
  },
  {
    name: 'quitGroup',
    reqCid: CID.CID_GROUP_QUIT_REQUEST,
    rspCid: CID.CID_GROUP_QUIT_RESPONSE,
    call: (c) => c.groups.quitGroup(GID),
    answer(b, code) {
      expect(IM.Group.IMGroupQuitReq.decode(b).groupId).toBe(GID);
      return IM.Group.IMGroupQuitRsp.encode({ userId: SELF, groupId: GID, resultCode: code }).finish();
    },
    refusable: true,
  },
  {
    name: 'dismissGroup',
    reqCid: CID.CID_GROUP_DISMISS_REQUEST,
    rspCid: CID.CID_GROUP_DISMISS_RESPONSE,
    call: (c) => c.groups.dismissGroup(GID),
    answer(b, code) {
      expect(IM.Group.IMGroupDismissReq.decode(b).groupId).toBe(GID);
      return IM.Group.IMGroupDismissRsp.encode({ userId: SELF, groupId: GID, resultCode: code }).finish();
    },
    refusable: true,
  },
  {
    name: 'kickFromGroup',
    reqCid: CID.CID_GROUP_KICK_REQUEST,
    rspCid: CID.CID_GROUP_KICK_RESPONSE,
    call: async (c) => expect((await c.groups.kickFromGroup(GID, [PEER])).chgUserIdList).toEqual([PEER]),
    answer(b, code) {
      expect(IM.Group.IMGroupKickReq.decode(b).memberIdList).toEqual([PEER]);
      return IM.Group.IMGroupKickRsp.encode({ userId: SELF, groupId: GID, resultCode: code, curUserIdList: [SELF], chgUserIdList: [PEER] }).finish();
    },
    refusable: true,
  },
  {
    name: 'setGroupAdmin',
    reqCid: CID.CID_GROUP_SET_ADMIN_REQUEST,
    rspCid: CID.CID_GROUP_SET_ADMIN_RESPONSE,
    call: (c) => c.groups.setGroupAdmin(GID, PEER, true),
    answer(b, code) {
      const req = IM.Group.IMGroupSetAdminReq.decode(b);
      expect([req.memberId, req.isAdmin]).toEqual([PEER, 1]);
      return IM.Group.IMGroupSetAdminRsp.encode({ userId: SELF, groupId: GID, memberId: PEER, isAdmin: 1, resultCode: code }).finish();
    },
    refusable: true,
  },
  {
    name: 'muteGroupMember',
    reqCid: CID.CID_GROUP_MUTE_REQUEST,
    rspCid: CID.CID_GROUP_MUTE_RESPONSE,
    call: async (c) => expect((await c.groups.muteGroupMember(GID, 0, 60)).muteUntil).toBe(1_700_000_060),
    answer(b, code) {
      const req = IM.Group.IMGroupMuteReq.decode(b);
      expect([req.memberId, req.muteSeconds]).toEqual([0, 60]);
      return IM.Group.IMGroupMuteRsp.encode({ userId: SELF, groupId: GID, memberId: 0, muteUntil: 1_700_000_060, resultCode: code }).finish();
    },
    refusable: true,
  },
];

describe.each(cases)('$name', (tc) => {
  it('sends its request and resolves on the reply with the same seq_num', async () => {
    const { client, conn } = await loggedIn();
    const done = tc.call(client);
    const f = await conn.next(tc.reqCid);
    expect(f.seqNum).not.toBe(0);
    // A reply with another seq_num is not taken for this one.
    conn.send(tc.rspCid, (f.seqNum % 65535) + 1, tc.answer(f.body, 0));
    conn.send(tc.rspCid, f.seqNum, tc.answer(f.body, 0));
    await done;
  });

  if (tc.refusable) {
    it('rejects with REQUEST_REFUSED carrying the result code', async () => {
      const { client, conn } = await loggedIn();
      const done = errorOf(tc.call(client));
      const f = await conn.next(tc.reqCid);
      conn.send(tc.rspCid, f.seqNum, tc.answer(f.body, IM.Group.GroupAdminResult.GROUP_ADMIN_NOT_ALLOWED));
      const err = await done;
      expect([err.code, err.resultCode]).toEqual(['REQUEST_REFUSED', 2]);
    });
  }
});

describe('group messages', () => {
  it('sendGroupText sends a GROUP_TEXT to the group and resolves with the ACKed id', async () => {
    const { client, conn } = await loggedIn();
    const sent = client.groups.sendGroupText(GID, 'hi all');
    const f = await conn.next(CID.CID_MSG_DATA);
    const msg = IM.Message.IMMsgData.decode(f.body);
    expect([msg.fromUserId, msg.toSessionId, msg.msgType, Buffer.from(msg.msgData).toString()]).toEqual([SELF, GID, IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT, 'hi all']);
    conn.send(CID.CID_MSG_DATA_ACK, f.seqNum, IM.Message.IMMsgDataAck.encode({ userId: SELF, sessionId: GID, msgId: 5, sessionType: GROUP }).finish());
    expect((await sent).msgId).toBe(5);
  });

  it('a group message nobody ACKs (non-member, muted) rejects with ACK_TIMEOUT', async () => {
    const { client } = await loggedIn();
    const err = await errorOf(client.groups.sendGroupText(GID, 'x', { timeoutMs: 100 }));
    expect(err.code).toBe('ACK_TIMEOUT');
  });

  it('a live copy of my own ACKed group message is a duplicate; group pushes are never ACKed back', async () => {
    const { client, conn } = await loggedIn();
    const messages: number[] = [];
    const duplicates: number[] = [];
    client.on('message', (m) => messages.push(m.msgId));
    client.on('duplicate', (m) => duplicates.push(m.msgId));
    const sent = client.groups.sendGroupText(GID, 'mine');
    const f = await conn.next(CID.CID_MSG_DATA);
    conn.send(CID.CID_MSG_DATA_ACK, f.seqNum, IM.Message.IMMsgDataAck.encode({ userId: SELF, sessionId: GID, msgId: 9, sessionType: GROUP }).finish());
    await sent;
    const push = (from: number, msgId: number): void =>
      conn.send(CID.CID_MSG_DATA, 0, IM.Message.IMMsgData.encode({ fromUserId: from, toSessionId: GID, msgId, createTime: 1, msgType: IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT, msgData: Buffer.from('x') }).finish());
    push(SELF, 9);
    push(PEER, 10);
    push(PEER, 10);
    await new Promise((r) => setTimeout(r, 100));
    expect(messages).toEqual([10]);
    expect(duplicates).toEqual([9, 10]);
    expect(conn.frames.filter((x) => x.commandId === CID.CID_MSG_DATA_ACK)).toHaveLength(0);
  });

  it('sendGroupAudio prefixes the duration', async () => {
    const { client, conn } = await loggedIn();
    const sent = client.groups.sendGroupAudio(GID, 3, Buffer.from([1, 2]));
    const f = await conn.next(CID.CID_MSG_DATA);
    const msg = IM.Message.IMMsgData.decode(f.body);
    expect(msg.msgType).toBe(IM.BaseDefine.MsgType.MSG_TYPE_GROUP_AUDIO);
    expect([...msg.msgData]).toEqual([0, 0, 0, 3, 1, 2]);
    conn.send(CID.CID_MSG_DATA_ACK, f.seqNum, IM.Message.IMMsgDataAck.encode({ userId: SELF, sessionId: GID, msgId: 1, sessionType: GROUP }).finish());
    await sent;
  });
});

describe('group notifies', () => {
  it('become groupChangeMember and groupAdmin events; undecodable ones are dropped', async () => {
    const { client, conn } = await loggedIn();
    const changes: IM.Group.IMGroupChangeMemberNotify[] = [];
    const admins: IM.Group.IMGroupAdminNotify[] = [];
    client.on('groupChangeMember', (n) => changes.push(n));
    client.on('groupAdmin', (n) => admins.push(n));
    conn.send(CID.CID_GROUP_CHANGE_MEMBER_NOTIFY, 0, Buffer.from([0xff, 0xff]));
    conn.send(CID.CID_GROUP_CHANGE_MEMBER_NOTIFY, 0, IM.Group.IMGroupChangeMemberNotify.encode({ userId: PEER, changeType: 1, groupId: GID, curUserIdList: [SELF, PEER], chgUserIdList: [SELF] }).finish());
    conn.send(
      CID.CID_GROUP_ADMIN_NOTIFY,
      0,
      IM.Group.IMGroupAdminNotify.encode({ operatorId: PEER, groupId: GID, action: IM.Group.GroupAdminAction.GROUP_ACTION_MUTE_ALL, muteUntil: 5, curUserIdList: [SELF, PEER] }).finish(),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(changes.map((n) => [n.groupId, n.chgUserIdList])).toEqual([[GID, [SELF]]]);
    expect(admins.map((n) => [n.groupId, n.action, n.muteUntil])).toEqual([[GID, IM.Group.GroupAdminAction.GROUP_ACTION_MUTE_ALL, 5]]);
  });

  it('group requests before login fail with BAD_STATE', async () => {
    const client = await TeamTalkClient.connect({ host: '127.0.0.1', port: server.port, heartbeatMs: 0 });
    clients.push(client);
    await expect(client.groups.normalGroupList()).rejects.toMatchObject({ code: 'BAD_STATE' });
  });
});
