// ChatApp against the fake gateway answering from a small in-memory store:
// what the user sees, and which requests go out.
import type { Frame } from '@tiertalk/pdu';
import { CID, IM, encryptContent } from '@tiertalk/proto';
import { SELF, acceptLogin, startTcpServer, type FakeConn, type FakeServer, type Responder } from '../test/fake-gateway';
import { ChatApp } from './chat-app';
import { TeamTalkClient } from './node-client';

const KEY = '12345678901234567890123456789012';
const BOB = 2002;
const CAROL = 3003;
const SINGLE = IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE;
const TEXT = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT;
const NOW = new Date(2024, 5, 1, 12, 0);
const T0 = Math.floor(new Date(2024, 5, 1, 9, 0).getTime() / 1000);

function user(userId: number, name: string): IM.BaseDefine.UserInfo.$Properties {
  return { userId, userGender: 0, userNickName: name.toUpperCase(), avatarUrl: '', departmentId: 1, email: '', userRealName: name, userTel: '', userDomain: name, status: 0 };
}
const USERS = [user(SELF, 'alice'), user(BOB, 'bob'), user(CAROL, 'carol')];

/** 25 messages with bob (odd ids from bob), 1 with carol. */
const bobHistory: IM.BaseDefine.MsgInfo.$Properties[] = Array.from({ length: 25 }, (_, i) => ({
  msgId: i + 1,
  fromSessionId: (i + 1) % 2 === 1 ? BOB : SELF,
  createTime: T0 + i * 60,
  msgType: TEXT,
  msgData: Buffer.from(`bob history ${i + 1}`),
}));

let server: FakeServer;
let client: TeamTalkClient;
let conn: FakeConn;
let printed: string[];
let ended: number[];
let app: ChatApp;
let requests: Frame[];

function responders(): Map<number, Responder> {
  const r = new Map<number, Responder>();
  r.set(CID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, () => [
    CID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_RESPONSE,
    IM.Buddy.IMRecentContactSessionRsp.encode({
      userId: SELF,
      contactSessionList: [
        { sessionId: CAROL, sessionType: SINGLE, sessionStatus: 0, updatedTime: T0 + 3600, latestMsgId: 1, latestMsgData: encryptContent('see you', KEY), latestMsgType: TEXT, latestMsgFromUserId: CAROL },
        { sessionId: BOB, sessionType: SINGLE, sessionStatus: 0, updatedTime: T0 + 24 * 60, latestMsgId: 25, latestMsgData: Buffer.from('bob history 25'), latestMsgType: TEXT, latestMsgFromUserId: BOB },
      ],
    }).finish(),
  ]);
  r.set(CID.CID_MSG_UNREAD_CNT_REQUEST, () => [
    CID.CID_MSG_UNREAD_CNT_RESPONSE,
    IM.Message.IMUnreadMsgCntRsp.encode({
      userId: SELF,
      totalCnt: 3,
      unreadinfoList: [{ sessionId: BOB, sessionType: SINGLE, unreadCnt: 3, latestMsgId: 25, latestMsgData: Buffer.from('bob history 25'), latestMsgType: TEXT, latestMsgFromUserId: BOB }],
    }).finish(),
  ]);
  r.set(CID.CID_BUDDY_LIST_USER_INFO_REQUEST, (f) => {
    const ids = IM.Buddy.IMUsersInfoReq.decode(f.body).userIdList;
    return [CID.CID_BUDDY_LIST_USER_INFO_RESPONSE, IM.Buddy.IMUsersInfoRsp.encode({ userId: SELF, userInfoList: USERS.filter((u) => ids.includes(u.userId)) }).finish()];
  });
  r.set(CID.CID_BUDDY_LIST_ALL_USER_REQUEST, () => [
    CID.CID_BUDDY_LIST_ALL_USER_RESPONSE,
    IM.Buddy.IMAllUserRsp.encode({ userId: SELF, latestUpdateTime: 1, userList: USERS }).finish(),
  ]);
  r.set(CID.CID_MSG_LIST_REQUEST, (f) => {
    const req = IM.Message.IMGetMsgListReq.decode(f.body);
    const history = req.sessionId === BOB ? bobHistory : [];
    const page = history
      .filter((m) => req.msgIdBegin === 0 || m.msgId <= req.msgIdBegin)
      .sort((a, b) => b.msgId - a.msgId)
      .slice(0, req.msgCnt);
    return [CID.CID_MSG_LIST_RESPONSE, IM.Message.IMGetMsgListRsp.encode({ userId: SELF, sessionType: SINGLE, sessionId: req.sessionId, msgIdBegin: req.msgIdBegin, msgList: page }).finish()];
  });
  r.set(CID.CID_BUDDY_LIST_USERS_STATUS_REQUEST, (f) => {
    const ids = IM.Buddy.IMUsersStatReq.decode(f.body).userIdList;
    return [CID.CID_BUDDY_LIST_USERS_STATUS_RESPONSE, IM.Buddy.IMUsersStatRsp.encode({ userId: SELF, userStatList: ids.map((id) => ({ userId: id, status: id === BOB ? 1 : 2 })) }).finish()];
  });
  r.set(CID.CID_MSG_DATA, () => [CID.CID_MSG_DATA_ACK, IM.Message.IMMsgDataAck.encode({ userId: SELF, sessionId: BOB, msgId: 26, sessionType: SINGLE }).finish()]);
  r.set(CID.CID_OTHER_HEARTBEAT, () => [CID.CID_OTHER_HEARTBEAT, new Uint8Array(0)]);
  return r;
}

function pushMsg(from: number, to: number, msgId: number, data: Uint8Array): void {
  conn.send(CID.CID_MSG_DATA, 0, IM.Message.IMMsgData.encode({ fromUserId: from, toSessionId: to, msgId, createTime: T0 + 7200, msgType: TEXT, msgData: data }).finish());
}

/** Everything sent before it has been handled by the client and the app. */
async function settle(): Promise<void> {
  await client.heartbeat();
  await app.handleLine('');
}

function sent(commandId: number): Frame[] {
  return requests.filter((f) => f.commandId === commandId);
}

beforeEach(async () => {
  server = await startTcpServer();
  client = await TeamTalkClient.connect({ host: '127.0.0.1', port: server.port, heartbeatMs: 0, requestTimeoutMs: 2000 });
  conn = await server.nextConn();
  await Promise.all([client.login('alice', 'tiertalk'), acceptLogin(conn)]);
  const answer = responders();
  requests = [];
  conn.onFrame = (f) => {
    requests.push(f);
    const reply = answer.get(f.commandId)?.(f);
    if (reply) conn.send(reply[0], f.seqNum, reply[1]);
  };
  printed = [];
  ended = [];
  app = new ChatApp(client, { aesKey: KEY, encrypt: false, pageSize: 10, print: (t) => printed.push(t), onEnd: (code) => ended.push(code), now: () => NOW });
  await app.start();
});

afterEach(async () => {
  client.close();
  await server.close();
});

describe('ChatApp', () => {
  it('starts with the recent sessions, names, unread counts and decrypted previews', () => {
    expect(printed.join('\n')).toBe(
      ['Recent sessions:', '  carol            10:00  see you', '  bob    3 unread  09:24  bob history 25', 'Type /help for commands.'].join('\n'),
    );
  });

  it('/open shows the last page oldest first, marks it read; /more pages back', async () => {
    printed = [];
    await app.handleLine('/open bob');
    expect(printed[0]).toBe('── bob ──');
    expect(printed.slice(1, 11)).toEqual(bobHistory.slice(15).map((m) => `09:${String(m.msgId - 1).padStart(2, '0')} [${m.fromSessionId === BOB ? 'bob' : 'alice'}] bob history ${m.msgId}`));
    expect(printed[11]).toBe('(/more for older messages)');
    await settle();
    const acks = sent(CID.CID_MSG_READ_ACK).map((f) => IM.Message.IMMsgDataReadAck.decode(f.body));
    expect(acks).toEqual([expect.objectContaining({ sessionId: BOB, msgId: 25, sessionType: SINGLE })]);

    printed = [];
    await app.handleLine('/more');
    expect(IM.Message.IMGetMsgListReq.decode(sent(CID.CID_MSG_LIST_REQUEST)[1].body)).toMatchObject({ sessionId: BOB, msgIdBegin: 15, msgCnt: 10 });
    expect(printed[0]).toBe('── earlier with bob ──');
    expect(printed.slice(1, 11).map((l) => l.replace(/^.* /, ''))).toEqual(Array.from({ length: 10 }, (_, i) => String(i + 6)));
    await app.handleLine('/more');
    await app.handleLine('/more');
    expect(printed.slice(-2)).toEqual(['09:04 [bob] bob history 5', '(no older messages)']);

    // Read here: the next /list shows no unread for bob even if the server's counter lags.
    printed = [];
    await app.handleLine('/list');
    expect(printed.join('\n')).toMatch(/ {2}bob {2}\s+09:24 {2}bob history 25/);
    expect(printed.join('\n')).not.toMatch(/unread/);
  });

  it('sends a line to the open conversation and shows it once', async () => {
    await app.handleLine('hello bob');
    expect(printed.at(-1)).toBe('! no open conversation: /open <user> first (/help lists the commands)');
    await app.handleLine('/open bob');
    printed = [];
    await app.handleLine('hello bob');
    const msg = IM.Message.IMMsgData.decode(sent(CID.CID_MSG_DATA)[0].body);
    expect(msg).toMatchObject({ toSessionId: BOB, msgType: TEXT });
    expect(Buffer.from(msg.msgData).toString()).toBe('hello bob');
    expect(printed).toEqual(['12:00 [alice] hello bob']);
    // A copy from another device of mine with the same id is not shown again.
    pushMsg(SELF, BOB, 26, Buffer.from('hello bob'));
    await settle();
    expect(printed).toEqual(['12:00 [alice] hello bob']);
    await app.handleLine('//slash');
    expect(Buffer.from(IM.Message.IMMsgData.decode(sent(CID.CID_MSG_DATA)[1].body).msgData).toString()).toBe('/slash');
  });

  it('shows live messages: in the open conversation (and marks them read), elsewhere with the unread count', async () => {
    await app.handleLine('/open bob');
    printed = [];
    pushMsg(BOB, SELF, 30, Buffer.from('live one'));
    pushMsg(CAROL, SELF, 2, encryptContent('from carol', KEY));
    pushMsg(CAROL, SELF, 3, Buffer.from('\x1b[2Jcleared?'));
    await settle();
    expect(printed).toEqual([
      '11:00 [bob] live one',
      '11:00 [carol] from carol  (1 unread, /open carol)',
      '11:00 [carol] \ufffd[2Jcleared?  (2 unread, /open carol)',
    ]);
    const acks = sent(CID.CID_MSG_READ_ACK).map((f) => IM.Message.IMMsgDataReadAck.decode(f.body).msgId);
    expect(acks).toEqual([25, 30]);
  });

  it('updates read state live when I read on another device', async () => {
    pushMsg(CAROL, SELF, 2, Buffer.from('ping'));
    await settle();
    printed = [];
    conn.send(CID.CID_MSG_READ_NOTIFY, 0, IM.Message.IMMsgDataReadNotify.encode({ userId: SELF, sessionId: BOB, msgId: 25, sessionType: SINGLE }).finish());
    await settle();
    expect(printed).toEqual(['12:00 · bob: read on another device']);
    printed = [];
    await app.handleLine('/list');
    // bob's server counter (3, latest 25) is stale: read up to 25 on the other device.
    expect(printed.join('\n')).not.toMatch(/bob +3 unread/);
  });

  it('/open finds users outside the sessions in the directory; unknown names and myself are refused', async () => {
    await app.handleLine('/open nobody');
    expect(printed.at(-1)).toBe('! no user "nobody"');
    expect(sent(CID.CID_BUDDY_LIST_ALL_USER_REQUEST)).toHaveLength(1);
    await app.handleLine('/open ALICE');
    expect(printed.at(-1)).toBe('! that is you');
    await app.handleLine(`/open ${CAROL}`);
    expect(printed.slice(-2)).toEqual(['── carol ──', '(no messages yet; type a line to send one)']);
    expect(app.openPeerName).toBe('carol');
  });

  it('prints a failed command and goes on', async () => {
    conn.onFrame = ((answer) => (f: Frame) => {
      if (f.commandId === CID.CID_MSG_LIST_REQUEST) conn.send(CID.CID_MSG_LIST_RESPONSE, f.seqNum, Buffer.from([0x0a, 0xff]));
      else answer?.(f);
    })(conn.onFrame);
    expect(await app.handleLine('/open bob')).toBeUndefined();
    expect(printed.slice(-2)).toEqual(['── bob ──', '! undecodable response 0x30a']);
    await app.handleLine('/who');
    expect(printed.at(-1)).toMatch(/bob +online/);
  });

  it('/who lists the status of the people in the sessions', async () => {
    printed = [];
    await app.handleLine('/who');
    expect(printed).toEqual(['  carol  offline\n  bob    online']);
  });

  it('unknown commands and /help', async () => {
    await app.handleLine('/frobnicate');
    expect(printed.at(-1)).toBe('! unknown command /frobnicate (/help lists them)');
    await app.handleLine('/help');
    expect(printed.at(-1)).toMatch(/\/open <user>[\s\S]*TT_AES_KEY/);
    expect(await app.handleLine('/quit')).toBe('quit');
  });

  it('ends with code 1 when the user is kicked', async () => {
    conn.send(CID.CID_LOGIN_KICK_USER, 0, IM.Login.IMKickUser.encode({ userId: SELF, kickReason: 1 }).finish());
    await client.closed;
    expect(ended).toEqual([1]);
    expect(printed.at(-1)).toBe('! signed out: you logged in somewhere else');
  });

  it('quit() logs out', async () => {
    const done = app.quit();
    const f = await conn.next(CID.CID_LOGIN_REQ_LOGINOUT);
    conn.send(CID.CID_LOGIN_RES_LOGINOUT, f.seqNum, IM.Login.IMLogoutRsp.encode({ resultCode: 0 }).finish());
    conn.end();
    await done;
    expect(client.isClosed).toBe(true);
    expect(ended).toEqual([]);
  });
});
