// The SDK's typed requests and push events (docs/PROTOCOL.md §2.2-2.7) against the
// fake gateway: the right command ids and bodies go out, replies are matched
// by seq_num, result codes become errors, pushes become events.
import type { Frame } from '@tiertalk/pdu';
import { CID, IM } from '@tiertalk/proto';
import { SELF, acceptLogin, serve, startTcpServer, type FakeConn, type FakeServer, type Responder } from '../test/fake-gateway';
import { SessionType, TeamTalkClient } from './node-client';
import { ClientError } from './errors';

const SINGLE = IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE;
const GROUP = IM.BaseDefine.SessionType.SESSION_TYPE_GROUP;
const PEER = 2002;

let server: FakeServer;
const clients: TeamTalkClient[] = [];

beforeEach(async () => {
  server = await startTcpServer();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

async function loggedIn(opts: { requestTimeoutMs?: number; dedupeWindow?: number } = {}): Promise<{ client: TeamTalkClient; conn: FakeConn }> {
  const client = await TeamTalkClient.connect({ host: '127.0.0.1', port: server.port, heartbeatMs: 0, ...opts });
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

function msgInfo(msgId: number, text: string, from = PEER): IM.BaseDefine.MsgInfo.$Properties {
  return { msgId, fromSessionId: from, createTime: 1_700_000_000 + msgId, msgType: IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT, msgData: Buffer.from(text) };
}

function pushMsg(conn: FakeConn, from: number, to: number, msgId: number): void {
  conn.send(
    CID.CID_MSG_DATA,
    0,
    IM.Message.IMMsgData.encode({ fromUserId: from, toSessionId: to, msgId, createTime: 1, msgType: IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT, msgData: Buffer.from(`m${msgId}`) }).finish(),
  );
}

interface RequestCase {
  name: string;
  reqCid: number;
  rspCid: number;
  call(c: TeamTalkClient): Promise<unknown>;
  /** Checks the request body; returns the response body. */
  answer(req: Uint8Array): Uint8Array;
  result(r: unknown): void;
}

const cases: RequestCase[] = [
  {
    name: 'unreadCounts',
    reqCid: CID.CID_MSG_UNREAD_CNT_REQUEST,
    rspCid: CID.CID_MSG_UNREAD_CNT_RESPONSE,
    call: (c) => c.unreadCounts(),
    answer(b) {
      expect(IM.Message.IMUnreadMsgCntReq.decode(b).userId).toBe(SELF);
      return IM.Message.IMUnreadMsgCntRsp.encode({
        userId: SELF,
        totalCnt: 3,
        unreadinfoList: [
          { sessionId: PEER, sessionType: SINGLE, unreadCnt: 3, latestMsgId: 9, latestMsgData: Buffer.from('hi'), latestMsgType: 1, latestMsgFromUserId: PEER },
        ],
      }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ totalCnt: 3, unreadinfoList: [{ sessionId: PEER, unreadCnt: 3, latestMsgId: 9 }] });
    },
  },
  {
    name: 'messageList',
    reqCid: CID.CID_MSG_LIST_REQUEST,
    rspCid: CID.CID_MSG_LIST_RESPONSE,
    call: (c) => c.messageList(SINGLE, PEER, 50, 2),
    answer(b) {
      expect(IM.Message.IMGetMsgListReq.decode(b)).toMatchObject({ userId: SELF, sessionType: SINGLE, sessionId: PEER, msgIdBegin: 50, msgCnt: 2 });
      return IM.Message.IMGetMsgListRsp.encode({ userId: SELF, sessionType: SINGLE, sessionId: PEER, msgIdBegin: 50, msgList: [msgInfo(50, 'b'), msgInfo(49, 'a')] }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ msgIdBegin: 50, msgList: [{ msgId: 50 }, { msgId: 49 }] });
    },
  },
  {
    name: 'messagesById',
    reqCid: CID.CID_MSG_GET_BY_MSG_ID_REQ,
    rspCid: CID.CID_MSG_GET_BY_MSG_ID_RES,
    call: (c) => c.messagesById(GROUP, 77, [3, 5]),
    answer(b) {
      expect(IM.Message.IMGetMsgByIdReq.decode(b)).toMatchObject({ userId: SELF, sessionType: GROUP, sessionId: 77, msgIdList: [3, 5] });
      return IM.Message.IMGetMsgByIdRsp.encode({ userId: SELF, sessionType: GROUP, sessionId: 77, msgList: [msgInfo(5, 'x')] }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ sessionId: 77, msgList: [{ msgId: 5 }] });
    },
  },
  {
    name: 'latestMsgId',
    reqCid: CID.CID_MSG_GET_LATEST_MSG_ID_REQ,
    rspCid: CID.CID_MSG_GET_LATEST_MSG_ID_RSP,
    call: (c) => c.latestMsgId(SINGLE, PEER),
    answer(b) {
      expect(IM.Message.IMGetLatestMsgIdReq.decode(b)).toMatchObject({ userId: SELF, sessionType: SINGLE, sessionId: PEER });
      return IM.Message.IMGetLatestMsgIdRsp.encode({ userId: SELF, sessionType: SINGLE, sessionId: PEER, latestMsgId: 41 }).finish();
    },
    result(r) {
      expect(r).toBe(41);
    },
  },
  {
    name: 'recentSessions',
    reqCid: CID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST,
    rspCid: CID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_RESPONSE,
    call: (c) => c.recentSessions(1234),
    answer(b) {
      expect(IM.Buddy.IMRecentContactSessionReq.decode(b)).toMatchObject({ userId: SELF, latestUpdateTime: 1234 });
      return IM.Buddy.IMRecentContactSessionRsp.encode({
        userId: SELF,
        contactSessionList: [
          { sessionId: PEER, sessionType: SINGLE, sessionStatus: 0, updatedTime: 1300, latestMsgId: 4, latestMsgData: Buffer.from('yo'), latestMsgType: 1, latestMsgFromUserId: PEER },
        ],
      }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ contactSessionList: [{ sessionId: PEER, updatedTime: 1300, latestMsgId: 4 }] });
    },
  },
  {
    name: 'removeSession',
    reqCid: CID.CID_BUDDY_LIST_REMOVE_SESSION_REQ,
    rspCid: CID.CID_BUDDY_LIST_REMOVE_SESSION_RES,
    call: (c) => c.removeSession(SINGLE, PEER),
    answer(b) {
      expect(IM.Buddy.IMRemoveSessionReq.decode(b)).toMatchObject({ userId: SELF, sessionType: SINGLE, sessionId: PEER });
      return IM.Buddy.IMRemoveSessionRsp.encode({ userId: SELF, resultCode: 0, sessionType: SINGLE, sessionId: PEER }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ resultCode: 0, sessionId: PEER });
    },
  },
  {
    name: 'usersInfo',
    reqCid: CID.CID_BUDDY_LIST_USER_INFO_REQUEST,
    rspCid: CID.CID_BUDDY_LIST_USER_INFO_RESPONSE,
    call: (c) => c.usersInfo([PEER, 3003]),
    answer(b) {
      expect(IM.Buddy.IMUsersInfoReq.decode(b)).toMatchObject({ userId: SELF, userIdList: [PEER, 3003] });
      return IM.Buddy.IMUsersInfoRsp.encode({
        userId: SELF,
        userInfoList: [
          { userId: PEER, userGender: 1, userNickName: 'Bob', avatarUrl: '', departmentId: 1, email: '', userRealName: 'bob', userTel: '', userDomain: 'bob', status: 0 },
        ],
      }).finish();
    },
    result(r) {
      expect(r).toMatchObject([{ userId: PEER, userRealName: 'bob' }]);
    },
  },
  {
    name: 'allUsers',
    reqCid: CID.CID_BUDDY_LIST_ALL_USER_REQUEST,
    rspCid: CID.CID_BUDDY_LIST_ALL_USER_RESPONSE,
    call: (c) => c.allUsers(),
    answer(b) {
      expect(IM.Buddy.IMAllUserReq.decode(b)).toMatchObject({ userId: SELF, latestUpdateTime: 0 });
      return IM.Buddy.IMAllUserRsp.encode({ userId: SELF, latestUpdateTime: 99, userList: [] }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ latestUpdateTime: 99, userList: [] });
    },
  },
  {
    name: 'departments',
    reqCid: CID.CID_BUDDY_LIST_DEPARTMENT_REQUEST,
    rspCid: CID.CID_BUDDY_LIST_DEPARTMENT_RESPONSE,
    call: (c) => c.departments(7),
    answer(b) {
      expect(IM.Buddy.IMDepartmentReq.decode(b)).toMatchObject({ userId: SELF, latestUpdateTime: 7 });
      return IM.Buddy.IMDepartmentRsp.encode({
        userId: SELF,
        latestUpdateTime: 8,
        deptList: [{ deptId: 1, priority: 0, deptName: 'Demo', parentDeptId: 0, deptStatus: 0 }],
      }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ latestUpdateTime: 8, deptList: [{ deptName: 'Demo' }] });
    },
  },
  {
    name: 'changeSignInfo',
    reqCid: CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST,
    rspCid: CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE,
    call: (c) => c.changeSignInfo('busy 忙'),
    answer(b) {
      expect(IM.Buddy.IMChangeSignInfoReq.decode(b)).toMatchObject({ userId: SELF, signInfo: 'busy 忙' });
      return IM.Buddy.IMChangeSignInfoRsp.encode({ userId: SELF, resultCode: 0 }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ resultCode: 0 });
    },
  },
  {
    name: 'changeAvatar',
    reqCid: CID.CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST,
    rspCid: CID.CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE,
    call: (c) => c.changeAvatar('http://x/a.png'),
    answer(b) {
      expect(IM.Buddy.IMChangeAvatarReq.decode(b)).toMatchObject({ userId: SELF, avatarUrl: 'http://x/a.png' });
      return IM.Buddy.IMChangeAvatarRsp.encode({ userId: SELF, resultCode: 0 }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ resultCode: 0 });
    },
  },
  {
    name: 'usersStatus',
    reqCid: CID.CID_BUDDY_LIST_USERS_STATUS_REQUEST,
    rspCid: CID.CID_BUDDY_LIST_USERS_STATUS_RESPONSE,
    call: (c) => c.usersStatus([PEER, 3003]),
    answer(b) {
      expect(IM.Buddy.IMUsersStatReq.decode(b)).toMatchObject({ userId: SELF, userIdList: [PEER, 3003] });
      return IM.Buddy.IMUsersStatRsp.encode({ userId: SELF, userStatList: [{ userId: PEER, status: 1 }, { userId: 3003, status: 2 }] }).finish();
    },
    result(r) {
      expect(r).toEqual([expect.objectContaining({ userId: PEER, status: 1 }), expect.objectContaining({ userId: 3003, status: 2 })]);
    },
  },
  {
    name: 'deviceToken',
    reqCid: CID.CID_LOGIN_REQ_DEVICETOKEN,
    rspCid: CID.CID_LOGIN_RES_DEVICETOKEN,
    call: (c) => c.deviceToken('tok-1'),
    answer(b) {
      expect(IM.Login.IMDeviceTokenReq.decode(b)).toMatchObject({ userId: SELF, deviceToken: 'tok-1' });
      return IM.Login.IMDeviceTokenRsp.encode({ userId: SELF }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ userId: SELF });
    },
  },
  {
    name: 'pushShield',
    reqCid: CID.CID_LOGIN_REQ_PUSH_SHIELD,
    rspCid: CID.CID_LOGIN_RES_PUSH_SHIELD,
    call: (c) => c.pushShield(true),
    answer(b) {
      expect(IM.Login.IMPushShieldReq.decode(b)).toMatchObject({ userId: SELF, shieldStatus: 1 });
      return IM.Login.IMPushShieldRsp.encode({ userId: SELF, resultCode: 0, shieldStatus: 1 }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ resultCode: 0, shieldStatus: 1 });
    },
  },
  {
    name: 'queryPushShield',
    reqCid: CID.CID_LOGIN_REQ_QUERY_PUSH_SHIELD,
    rspCid: CID.CID_LOGIN_RES_QUERY_PUSH_SHIELD,
    call: (c) => c.queryPushShield(),
    answer(b) {
      expect(IM.Login.IMQueryPushShieldReq.decode(b).userId).toBe(SELF);
      return IM.Login.IMQueryPushShieldRsp.encode({ userId: SELF, resultCode: 0, shieldStatus: 0 }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ resultCode: 0, shieldStatus: 0 });
    },
  },
  {
    name: 'kickPcClient',
    reqCid: CID.CID_LOGIN_REQ_KICKPCCLIENT,
    rspCid: CID.CID_LOGIN_RES_KICKPCCLIENT,
    call: (c) => c.kickPcClient(),
    answer(b) {
      expect(IM.Login.IMKickPCClientReq.decode(b).userId).toBe(SELF);
      return IM.Login.IMKickPCClientRsp.encode({ userId: SELF, resultCode: 0 }).finish();
    },
    result(r) {
      expect(r).toMatchObject({ resultCode: 0 });
    },
  },
];

describe('typed requests', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s sends its request and resolves on the reply with the same seq', async (_name, tc) => {
    const { client, conn } = await loggedIn();
    const pending = tc.call(client);
    const f = await conn.next(tc.reqCid);
    expect(f.seqNum).not.toBe(0);
    expect(f.serviceId).toBe(tc.reqCid >> 8);
    const rsp = tc.answer(f.body);
    // A reply with another seq, and one of another command with this seq, are not the answer.
    conn.send(tc.rspCid, (f.seqNum % 65535) + 1, rsp);
    conn.send(CID.CID_OTHER_HEARTBEAT, f.seqNum, new Uint8Array(0));
    conn.send(tc.rspCid, f.seqNum, rsp);
    tc.result(await pending);
    expect(client.pendingCount).toBe(0);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s before login is BAD_STATE', async (_name, tc) => {
    const client = await TeamTalkClient.connect({ host: '127.0.0.1', port: server.port, heartbeatMs: 0 });
    clients.push(client);
    await expect(tc.call(client)).rejects.toMatchObject({ code: 'BAD_STATE' });
  });

  it('rejects a non-zero result_code with REQUEST_REFUSED and the code', async () => {
    const { client, conn } = await loggedIn();
    serve(
      conn,
      new Map<number, Responder>([
        [CID.CID_BUDDY_LIST_REMOVE_SESSION_REQ, () => [CID.CID_BUDDY_LIST_REMOVE_SESSION_RES, IM.Buddy.IMRemoveSessionRsp.encode({ userId: SELF, resultCode: 1, sessionType: SINGLE, sessionId: 9 }).finish()]],
        [CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST, () => [CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE, IM.Buddy.IMChangeSignInfoRsp.encode({ userId: SELF, resultCode: 1 }).finish()]],
        [CID.CID_LOGIN_REQ_PUSH_SHIELD, () => [CID.CID_LOGIN_RES_PUSH_SHIELD, IM.Login.IMPushShieldRsp.encode({ userId: SELF, resultCode: 1 }).finish()]],
      ]),
    );
    for (const p of [client.removeSession(SINGLE, 9), client.changeSignInfo('x'.repeat(200)), client.pushShield(false)]) {
      const err = await errorOf(p);
      expect(err).toMatchObject({ code: 'REQUEST_REFUSED', resultCode: 1 });
    }
  });

  it('times out a request the server never answers (TeamTalk has no change-avatar handler)', async () => {
    const { client } = await loggedIn({ requestTimeoutMs: 100 });
    await expect(client.changeAvatar('http://x/a.png')).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
    expect(client.pendingCount).toBe(0);
  });

  it('rejects an undecodable reply with BAD_RESPONSE', async () => {
    const { client, conn } = await loggedIn();
    serve(conn, new Map<number, Responder>([[CID.CID_MSG_LIST_REQUEST, () => [CID.CID_MSG_LIST_RESPONSE, Buffer.from([0x0a, 0xff])]]]));
    await expect(client.messageList(SINGLE, PEER)).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
  });
});

describe('requests without a reply', () => {
  it('readAck sends IMMsgDataReadAck with a request seq and waits for nothing', async () => {
    const { client, conn } = await loggedIn();
    client.readAck(SINGLE, PEER, 12);
    const f = await conn.next(CID.CID_MSG_READ_ACK);
    expect(f.seqNum).not.toBe(0);
    expect(IM.Message.IMMsgDataReadAck.decode(f.body)).toMatchObject({ userId: SELF, sessionId: PEER, msgId: 12, sessionType: SINGLE });
    expect(client.pendingCount).toBe(0);
  });

  it('p2p sends IMP2PCmdMsg from me', async () => {
    const { client, conn } = await loggedIn();
    client.p2p(PEER, '{"type":"typing"}');
    const f = await conn.next(CID.CID_SWITCH_P2P_CMD);
    expect(f.serviceId).toBe(IM.BaseDefine.ServiceID.SID_SWITCH_SERVICE);
    expect(IM.SwitchService.IMP2PCmdMsg.decode(f.body)).toMatchObject({ fromUserId: SELF, toUserId: PEER, cmdMsgData: '{"type":"typing"}' });
  });

  it('sendAudio puts the duration (big-endian) before the audio bytes and resolves on the ACK', async () => {
    const { client, conn } = await loggedIn();
    const sent = client.sendAudio(PEER, 7, Buffer.from([1, 2, 3]));
    const f = await conn.next(CID.CID_MSG_DATA);
    const msg = IM.Message.IMMsgData.decode(f.body);
    expect(msg).toMatchObject({ fromUserId: SELF, toSessionId: PEER, msgType: IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_AUDIO });
    expect([...msg.msgData]).toEqual([0, 0, 0, 7, 1, 2, 3]);
    conn.send(CID.CID_MSG_DATA_ACK, f.seqNum, IM.Message.IMMsgDataAck.encode({ userId: SELF, sessionId: PEER, msgId: 33, sessionType: SINGLE }).finish());
    expect((await sent).msgId).toBe(33);
    await expect(client.sendAudio(PEER, -1, Buffer.alloc(1))).rejects.toThrow(RangeError);
  });
});

describe('push events', () => {
  const pushes: [event: string, cid: number, body: Uint8Array, expected: Record<string, unknown>][] = [
    ['readNotify', CID.CID_MSG_READ_NOTIFY, IM.Message.IMMsgDataReadNotify.encode({ userId: SELF, sessionId: PEER, msgId: 8, sessionType: SINGLE }).finish(), { sessionId: PEER, msgId: 8 }],
    ['removeSessionNotify', CID.CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY, IM.Buddy.IMRemoveSessionNotify.encode({ userId: SELF, sessionType: SINGLE, sessionId: PEER }).finish(), { sessionId: PEER }],
    ['userStatus', CID.CID_BUDDY_LIST_STATUS_NOTIFY, IM.Buddy.IMUserStatNotify.encode({ userStat: { userId: PEER, status: 2 } }).finish(), { userStat: { userId: PEER, status: 2 } }],
    ['pcLoginStatus', CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY, IM.Buddy.IMPCLoginStatusNotify.encode({ userId: SELF, loginStat: 1 }).finish(), { userId: SELF, loginStat: 1 }],
    ['signInfoChanged', CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, IM.Buddy.IMSignInfoChangedNotify.encode({ changedUserId: PEER, signInfo: 'away' }).finish(), { changedUserId: PEER, signInfo: 'away' }],
    ['p2p', CID.CID_SWITCH_P2P_CMD, IM.SwitchService.IMP2PCmdMsg.encode({ fromUserId: PEER, toUserId: SELF, cmdMsgData: 'shake' }).finish(), { fromUserId: PEER, cmdMsgData: 'shake' }],
  ];

  it.each(pushes)('%s is emitted for its push; an undecodable body is dropped', async (event, cid, body, expected) => {
    const { client, conn } = await loggedIn();
    const got: unknown[] = [];
    client.on('readNotify', (n) => got.push(['readNotify', n]));
    client.on('removeSessionNotify', (n) => got.push(['removeSessionNotify', n]));
    client.on('userStatus', (n) => got.push(['userStatus', n]));
    client.on('pcLoginStatus', (n) => got.push(['pcLoginStatus', n]));
    client.on('signInfoChanged', (n) => got.push(['signInfoChanged', n]));
    client.on('p2p', (n) => got.push(['p2p', n]));
    conn.send(cid, 0, Buffer.from([0x08])); // truncated varint: does not decode
    conn.send(cid, 0, body);
    // A heartbeat round trip: everything sent before it has been handled.
    const hb = client.heartbeat();
    const f: Frame = await conn.next(CID.CID_OTHER_HEARTBEAT);
    conn.send(CID.CID_OTHER_HEARTBEAT, f.seqNum, new Uint8Array(0));
    await hb;
    expect(got).toEqual([[event, expect.objectContaining(expected)]]);
    expect(client.isClosed).toBe(false);
  });
});

describe('a message id is shown once per device', () => {
  it('a live copy of a message already returned by history is a duplicate', async () => {
    const { client, conn } = await loggedIn();
    serve(
      conn,
      new Map<number, Responder>([
        [
          CID.CID_MSG_LIST_REQUEST,
          () => [CID.CID_MSG_LIST_RESPONSE, IM.Message.IMGetMsgListRsp.encode({ userId: SELF, sessionType: SINGLE, sessionId: PEER, msgIdBegin: 0, msgList: [msgInfo(11, 'b'), msgInfo(10, 'a')] }).finish()],
        ],
      ]),
    );
    const messages: number[] = [];
    const duplicates: number[] = [];
    client.on('message', (m) => messages.push(m.msgId));
    client.on('duplicate', (m) => duplicates.push(m.msgId));
    await client.messageList(SessionType.SESSION_TYPE_SINGLE, PEER);
    pushMsg(conn, PEER, SELF, 11);
    pushMsg(conn, PEER, SELF, 12);
    await conn.next(CID.CID_MSG_DATA_ACK);
    await conn.next(CID.CID_MSG_DATA_ACK);
    expect(messages).toEqual([12]);
    expect(duplicates).toEqual([11]);
  });

  it('a copy of my own sent message echoed back to this device is a duplicate', async () => {
    const { client, conn } = await loggedIn();
    const messages: number[] = [];
    client.on('message', (m) => messages.push(m.msgId));
    const sent = client.sendAudio(PEER, 1, Buffer.from([9]));
    const f = await conn.next(CID.CID_MSG_DATA);
    conn.send(CID.CID_MSG_DATA_ACK, f.seqNum, IM.Message.IMMsgDataAck.encode({ userId: SELF, sessionId: PEER, msgId: 5, sessionType: SINGLE }).finish());
    await sent;
    pushMsg(conn, SELF, PEER, 5);
    pushMsg(conn, SELF, PEER, 6); // sent from my other device
    await conn.next(CID.CID_MSG_DATA_ACK);
    await conn.next(CID.CID_MSG_DATA_ACK);
    expect(messages).toEqual([6]);
  });

  it('a re-delivery long after the dedupe window moved on is still a duplicate', async () => {
    const { client, conn } = await loggedIn({ dedupeWindow: 4 });
    const messages: number[] = [];
    client.on('message', (m) => messages.push(m.msgId));
    for (let id = 1; id <= 20; id += 1) pushMsg(conn, PEER, SELF, id);
    pushMsg(conn, PEER, SELF, 2);
    pushMsg(conn, PEER, SELF, 19);
    for (let i = 0; i < 22; i += 1) await conn.next(CID.CID_MSG_DATA_ACK);
    expect(messages).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});
