// Drives TeamTalkClient against a tiny fake msg gateway (a test double of the
// server peer speaking the real framing), over TCP and WebSocket.
import { CID, IM } from '@tiertalk/proto';
import { SELF, acceptLogin, startTcpServer, startWsServer, type FakeConn, type FakeServer } from '../test/fake-gateway';
import { TeamTalkClient, type CloseInfo } from './node-client';
import { ClientError } from './errors';
import { md5hex } from './password';

function incoming(from: number, to: number, msgId: number, text = 'hi'): Uint8Array {
  return IM.Message.IMMsgData.encode({
    fromUserId: from,
    toSessionId: to,
    msgId,
    createTime: 1,
    msgType: IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT,
    msgData: Buffer.from(text),
  }).finish();
}

function ackBody(msgId: number, to = 2002): Uint8Array {
  return IM.Message.IMMsgDataAck.encode({ userId: SELF, sessionId: to, msgId, sessionType: 1 }).finish();
}

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ClientError) return err.code;
    throw err;
  }
  return 'resolved';
}

describe.each([
  ['tcp', startTcpServer],
  ['ws', startWsServer],
] as const)('TeamTalkClient over %s', (transport, start) => {
  let server: FakeServer;
  const clients: TeamTalkClient[] = [];

  async function connect(extra: { requestTimeoutMs?: number; heartbeatMs?: number; suppressDuplicates?: boolean } = {}): Promise<{ client: TeamTalkClient; conn: FakeConn }> {
    const client = await TeamTalkClient.connect({ host: '127.0.0.1', port: server.port, transport, heartbeatMs: 0, ...extra });
    clients.push(client);
    const conn = await server.nextConn();
    return { client, conn };
  }

  async function loggedIn(extra: Parameters<typeof connect>[0] = {}): Promise<{ client: TeamTalkClient; conn: FakeConn }> {
    const c = await connect(extra);
    await Promise.all([c.client.login('alice', 'secret'), acceptLogin(c.conn)]);
    return c;
  }

  beforeEach(async () => {
    server = await start();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  it('logs in with md5hex(password) and the default client type', async () => {
    const { client, conn } = await connect();
    const [res, req] = await Promise.all([client.login('alice', 'secret'), acceptLogin(conn)]);
    expect(req.userName).toBe('alice');
    expect(req.password).toBe(md5hex('secret'));
    expect(req.password).toBe('5ebe2294ecd0e0f08eab7690d2a6ee69');
    expect(req.clientType).toBe(IM.BaseDefine.ClientType.CLIENT_TYPE_WINDOWS);
    expect(req.onlineStatus).toBe(IM.BaseDefine.UserStatType.USER_STATUS_ONLINE);
    expect(res.userId).toBe(SELF);
    expect(res.userInfo.userNickName).toBe('Alice');
    expect(client.userId).toBe(SELF);
    expect(await errorCode(client.login('alice', 'secret'))).toBe('BAD_STATE');
  });

  it('sends a digest verbatim with passwordIsDigest', async () => {
    const { client, conn } = await connect();
    const digest = md5hex('x');
    const [, req] = await Promise.all([client.login('bob', digest, { passwordIsDigest: true }), acceptLogin(conn)]);
    expect(req.password).toBe(digest);
  });

  it('rejects a refused login with LOGIN_REFUSED, resultCode and resultString', async () => {
    const { client, conn } = await connect();
    const pending = client.login('alice', 'wrong');
    const f = await conn.next(CID.CID_LOGIN_REQ_USERLOGIN);
    conn.send(CID.CID_LOGIN_RES_USERLOGIN, f.seqNum, IM.Login.IMLoginRes.encode({ serverTime: 1, resultCode: 6, resultString: 'bad password' }).finish());
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect(err).toMatchObject({ code: 'LOGIN_REFUSED', resultCode: 6, resultString: 'bad password' });
    expect(client.userId).toBeUndefined();
  });

  it('refuses sendText before login', async () => {
    const { client } = await connect();
    expect(await errorCode(client.sendText(2, 'x'))).toBe('BAD_STATE');
  });

  it('sendText sends IMMsgData and resolves on the IMMsgDataAck with the same seq', async () => {
    const { client, conn } = await loggedIn();
    const sent = client.sendText(2002, 'hello 你好');
    const f = await conn.next(CID.CID_MSG_DATA);
    const msg = IM.Message.IMMsgData.decode(f.body);
    expect(msg.fromUserId).toBe(SELF);
    expect(msg.toSessionId).toBe(2002);
    expect(msg.msgType).toBe(IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT);
    expect(Buffer.from(msg.msgData).toString()).toBe('hello 你好');
    expect(Math.abs(msg.createTime - Date.now() / 1000)).toBeLessThan(5);
    // An ACK with another seq is not ours.
    conn.send(CID.CID_MSG_DATA_ACK, (f.seqNum % 65535) + 1, ackBody(99));
    conn.send(CID.CID_MSG_DATA_ACK, f.seqNum, ackBody(7));
    const res = await sent;
    expect(res.msgId).toBe(7);
    expect(res.ackMs).toBeGreaterThanOrEqual(0);
    expect(client.pendingCount).toBe(0);
  });

  it('matches ACKs answered out of order', async () => {
    const { client, conn } = await loggedIn();
    const a = client.sendText(2002, 'a');
    const b = client.sendText(2002, 'b');
    const fa = await conn.next(CID.CID_MSG_DATA);
    const fb = await conn.next(CID.CID_MSG_DATA);
    expect(fa.seqNum).not.toBe(fb.seqNum);
    conn.send(CID.CID_MSG_DATA_ACK, fb.seqNum, ackBody(2));
    conn.send(CID.CID_MSG_DATA_ACK, fa.seqNum, ackBody(1));
    expect((await a).msgId).toBe(1);
    expect((await b).msgId).toBe(2);
  });

  it('rejects with ACK_TIMEOUT and does not reuse the seq for a late ACK', async () => {
    const { client, conn } = await loggedIn({ requestTimeoutMs: 100 });
    const first = client.sendText(2002, 'lost');
    const f1 = await conn.next(CID.CID_MSG_DATA);
    expect(await errorCode(first)).toBe('ACK_TIMEOUT');
    expect(client.pendingCount).toBe(0);
    const second = client.sendText(2002, 'next', { timeoutMs: 5000 });
    const f2 = await conn.next(CID.CID_MSG_DATA);
    expect(f2.seqNum).not.toBe(f1.seqNum);
    conn.send(CID.CID_MSG_DATA_ACK, f1.seqNum, ackBody(1)); // late: ignored
    conn.send(CID.CID_MSG_DATA_ACK, f2.seqNum, ackBody(2));
    expect((await second).msgId).toBe(2);
  });

  it('ACKs an incoming 1:1 message and emits it', async () => {
    const { client, conn } = await loggedIn();
    const got = new Promise<IM.Message.IMMsgData>((resolve) => client.once('message', resolve));
    conn.send(CID.CID_MSG_DATA, 0, incoming(2002, SELF, 42, 'yo'));
    const msg = await got;
    expect(msg.msgId).toBe(42);
    expect(Buffer.from(msg.msgData).toString()).toBe('yo');
    const ackFrame = await conn.next(CID.CID_MSG_DATA_ACK);
    const ack = IM.Message.IMMsgDataAck.decode(ackFrame.body);
    expect(ack).toMatchObject({ userId: SELF, sessionId: 2002, msgId: 42, sessionType: IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE });
  });

  it('suppresses a duplicate (session, msg_id) but still ACKs it', async () => {
    const { client, conn } = await loggedIn();
    const messages: number[] = [];
    const duplicates: number[] = [];
    client.on('message', (m) => messages.push(m.msgId));
    client.on('duplicate', (m) => duplicates.push(m.msgId));
    conn.send(CID.CID_MSG_DATA, 0, incoming(2002, SELF, 5));
    conn.send(CID.CID_MSG_DATA, 0, incoming(2002, SELF, 5));
    conn.send(CID.CID_MSG_DATA, 0, incoming(3003, SELF, 5)); // other session, same id
    conn.send(CID.CID_MSG_DATA, 0, incoming(SELF, 2002, 5)); // my own message from another device: same session as 2002
    await conn.next(CID.CID_MSG_DATA_ACK);
    await conn.next(CID.CID_MSG_DATA_ACK);
    await conn.next(CID.CID_MSG_DATA_ACK);
    await conn.next(CID.CID_MSG_DATA_ACK);
    expect(messages).toEqual([5, 5]);
    expect(duplicates).toEqual([5, 5]);
  });

  it('emits duplicates as messages when suppressDuplicates is off', async () => {
    const { client, conn } = await loggedIn({ suppressDuplicates: false });
    const messages: number[] = [];
    client.on('message', (m) => messages.push(m.msgId));
    conn.send(CID.CID_MSG_DATA, 0, incoming(2002, SELF, 5));
    conn.send(CID.CID_MSG_DATA, 0, incoming(2002, SELF, 5));
    await conn.next(CID.CID_MSG_DATA_ACK);
    await conn.next(CID.CID_MSG_DATA_ACK);
    expect(messages).toEqual([5, 5]);
  });

  it('emits kick and every frame as pdu', async () => {
    const { client, conn } = await loggedIn();
    const pdus: number[] = [];
    client.on('pdu', (p) => pdus.push(p.commandId));
    const kicked = new Promise<IM.Login.IMKickUser>((resolve) => client.once('kick', resolve));
    conn.send(CID.CID_LOGIN_KICK_USER, 0, IM.Login.IMKickUser.encode({ userId: SELF, kickReason: 1 }).finish());
    expect((await kicked).kickReason).toBe(IM.BaseDefine.KickReasonType.KICK_REASON_DUPLICATE_USER);
    expect(pdus).toEqual([CID.CID_LOGIN_KICK_USER]);
  });

  it('heartbeat resolves on the echo; automatic heartbeats are sent', async () => {
    const { client, conn } = await connect({ heartbeatMs: 30 });
    conn.onFrame = (f) => {
      if (f.commandId === CID.CID_OTHER_HEARTBEAT) conn.send(f.commandId, f.seqNum, f.body);
    };
    await client.heartbeat();
    await conn.next(CID.CID_OTHER_HEARTBEAT);
    await conn.next(CID.CID_OTHER_HEARTBEAT);
    await conn.next(CID.CID_OTHER_HEARTBEAT);
    expect(client.isClosed).toBe(false);
  });

  it('logout waits for IMLogoutRsp and the server close', async () => {
    const { client, conn } = await loggedIn();
    const closes: CloseInfo[] = [];
    client.on('close', (c) => closes.push(c));
    const done = client.logout();
    const f = await conn.next(CID.CID_LOGIN_REQ_LOGINOUT);
    conn.send(CID.CID_LOGIN_RES_LOGINOUT, f.seqNum, IM.Login.IMLogoutRsp.encode({ resultCode: 0 }).finish());
    conn.end();
    await done;
    await client.closed;
    expect(closes).toEqual([expect.objectContaining({ by: 'peer' })]);
    expect(client.userId).toBeUndefined();
  });

  it('closes with an error on broken framing and rejects pending requests', async () => {
    const { client, conn } = await loggedIn();
    const errors: ClientError[] = [];
    client.on('error', (e) => errors.push(e));
    const pending = client.sendText(2002, 'x');
    await conn.next(CID.CID_MSG_DATA);
    conn.raw(Buffer.from([0, 0, 0, 0, 0, 1, 0, 0])); // length 0
    expect(await errorCode(pending)).toBe('CLOSED');
    await client.closed;
    expect(errors.map((e) => e.code)).toEqual(['FRAME_ERROR']);
    expect(() => client.sendRaw(Buffer.alloc(16))).toThrow(ClientError);
  });

  it('rejects pending requests with CLOSED when the server goes away', async () => {
    const { client, conn } = await loggedIn();
    const pending = client.heartbeat();
    await conn.next(CID.CID_OTHER_HEARTBEAT);
    conn.end();
    expect(await errorCode(pending)).toBe('CLOSED');
    await client.closed;
  });

  it('sendFrame writes the given seq verbatim', async () => {
    const { client, conn } = await connect();
    client.sendFrame(CID.CID_MSG_TIME_REQUEST, 4242, new Uint8Array(0));
    const f = await conn.next(CID.CID_MSG_TIME_REQUEST);
    expect(f.seqNum).toBe(4242);
    expect(f.serviceId).toBe(IM.BaseDefine.ServiceID.SID_MSG);
  });
});

describe('TeamTalkClient seq numbers', () => {
  let server: FakeServer;
  beforeEach(async () => {
    server = await startTcpServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('wraps around past 65535 and never reuses a seq that is still pending', async () => {
    const client = await TeamTalkClient.connect({ host: '127.0.0.1', port: server.port, heartbeatMs: 0, requestTimeoutMs: 60_000 });
    const conn = await server.nextConn();
    const heartbeatSeqs: number[] = [];
    conn.onFrame = (f) => {
      if (f.commandId === CID.CID_OTHER_HEARTBEAT) {
        heartbeatSeqs.push(f.seqNum);
        conn.send(f.commandId, f.seqNum, f.body);
      }
    };
    const held = client.request(CID.CID_MSG_TIME_REQUEST, new Uint8Array(0), CID.CID_MSG_TIME_RESPONSE, (b) => IM.Message.IMClientTimeRsp.decode(b));
    const heldFrame = await conn.next(CID.CID_MSG_TIME_REQUEST);
    const total = 70_000;
    for (let done = 0; done < total; done += 5000) {
      await Promise.all(Array.from({ length: 5000 }, () => client.heartbeat()));
    }
    expect(heartbeatSeqs).toHaveLength(total);
    expect(heartbeatSeqs).not.toContain(0);
    expect(heartbeatSeqs).not.toContain(heldFrame.seqNum);
    expect(Math.max(...heartbeatSeqs)).toBe(65535);
    expect(heartbeatSeqs.filter((s) => s === heldFrame.seqNum + 1).length).toBe(2);
    conn.send(CID.CID_MSG_TIME_RESPONSE, heldFrame.seqNum, IM.Message.IMClientTimeRsp.encode({ serverTime: 77 }).finish());
    expect((await held).serverTime).toBe(77);
    client.close();
  });
});
