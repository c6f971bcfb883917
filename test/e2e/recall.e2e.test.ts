// TierTalk's recall and read receipt extensions (IM.Message 0x0340-0x0345,
// docs/PROTOCOL.md §6) end to end against a real cluster with two gateways:
// recall within the window (online and offline receivers, the sender's other
// device, history, unread counts), every refusal with its code, a stock
// TeamTalk-style client that knows none of the new commands, the 1:1 read
// receipt and the group readers list.
import type net from 'node:net';
import * as protobuf from 'protobufjs';
import type { RowDataPacket } from 'mysql2/promise';
import { ClientError, MsgRecallResult, SessionType, TeamTalkClient, decryptContent } from '@tiertalk/client';
import { FrameReader, encodeFrame, type Frame } from '@tiertalk/pdu';
import { CID, IM, serviceIdOf } from '@tiertalk/proto';
import { GatewayInfo, waitFor } from '@tiertalk/testkit';
import { ANDROID, createUser, DEMO_PASSWORD, loggedIn, md5hex, PC, rawSocket } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(90_000);

const SINGLE = SessionType.SESSION_TYPE_SINGLE;
const GROUP = SessionType.SESSION_TYPE_GROUP;
const RECALLED_TEXT = '[消息已撤回]';

const suite = e2eSuite('recall', { dbProxy: 1, route: 1, msg: 2 });
const gw1 = (): GatewayInfo => suite.gateway(0);
const gw2 = (): GatewayInfo => suite.gateway(1);
const sockets: net.Socket[] = [];
let userSeq = 0;

interface User {
  name: string;
  id: number;
}

async function newUser(): Promise<User> {
  const name = `rc${++userSeq}`;
  return { name, id: await createUser(suite.pool, name) };
}

async function online(u: User, gw: GatewayInfo, clientType = PC): Promise<TeamTalkClient> {
  const c = await loggedIn(gw, u.name, clientType);
  suite.track(c);
  return c;
}

function recalls(c: TeamTalkClient): IM.Message.IMMsgRecallNotify[] {
  const got: IM.Message.IMMsgRecallNotify[] = [];
  c.on('recalled', (n) => got.push(n));
  return got;
}

function texts(c: TeamTalkClient): string[] {
  const got: string[] = [];
  c.on('message', (m) => got.push(Buffer.from(m.msgData).toString('utf8')));
  return got;
}

async function refusalCode(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ClientError && err.code === 'REQUEST_REFUSED') return err.resultCode;
    throw err;
  }
  throw new Error('expected a refusal, got success');
}

async function singleUnread(c: TeamTalkClient, peerId: number): Promise<number> {
  const rsp = await c.unreadCounts();
  return rsp.unreadinfoList.find((u) => u.sessionType === SINGLE && u.sessionId === peerId)?.unreadCnt ?? 0;
}

async function groupUnread(c: TeamTalkClient, groupId: number): Promise<number> {
  const rsp = await c.unreadCounts();
  return rsp.unreadinfoList.find((u) => u.sessionType === GROUP && u.sessionId === groupId)?.unreadCnt ?? 0;
}

async function storedRow(a: number, b: number, msgId: number): Promise<{ status: number; content: string }> {
  const [rel] = await suite.pool.query<RowDataPacket[]>('SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ? AND status = 0', [Math.min(a, b), Math.max(a, b)]);
  const relateId = Number(rel[0].id);
  const [rows] = await suite.pool.query<RowDataPacket[]>(`SELECT status, content FROM IMMessage_${relateId % 8} WHERE relateId = ? AND msgId = ?`, [relateId, msgId]);
  return { status: Number(rows[0].status), content: String(rows[0].content) };
}

const plain = (data: Uint8Array): string | undefined => decryptContent(data);

/**
 * A client built only on TeamTalk's own protocol: it logs in, answers a 1:1
 * delivery with its ack as TeamTalk clients do, drops every command id it does
 * not know (docs/PROTOCOL.md §1.1), and reads history with TeamTalk's MsgInfo
 * (no TierTalk field), parsed from the stock schema below.
 */
const STOCK_SCHEMA = protobuf.parse(`
  syntax = "proto2";
  message MsgInfo { required uint32 msg_id = 1; required uint32 from_session_id = 2; required uint32 create_time = 3; required uint32 msg_type = 4; required bytes msg_data = 5; }
  message IMGetMsgListRsp { required uint32 user_id = 1; required uint32 session_type = 2; required uint32 session_id = 3; required uint32 msg_id_begin = 4; repeated MsgInfo msg_list = 5; optional bytes attach_data = 20; }
`).root;
const StockMsgListRsp = STOCK_SCHEMA.lookupType('IMGetMsgListRsp');
const TEAMTALK_CIDS: ReadonlySet<number> = new Set(
  [IM.BaseDefine.LoginCmdID, IM.BaseDefine.BuddyListCmdID, IM.BaseDefine.MessageCmdID, IM.BaseDefine.GroupCmdID, IM.BaseDefine.OtherCmdID, IM.BaseDefine.SwitchServiceCmdID].flatMap(
    (e) => Object.values(e).filter((v): v is number => typeof v === 'number'),
  ),
);

class StockClient {
  readonly handled: Frame[] = [];
  readonly ignored: number[] = [];
  private readonly reader = new FrameReader();
  private seq = 0;
  private readonly waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.reader.push(chunk)) this.onFrame(f);
    });
  }

  static async login(gw: GatewayInfo, name: string): Promise<StockClient> {
    const socket = await rawSocket(gw.tcpPort);
    sockets.push(socket);
    const c = new StockClient(socket);
    const res = IM.Login.IMLoginRes.decode(
      (await c.call(CID.CID_LOGIN_REQ_USERLOGIN, IM.Login.IMLoginReq.encode({ userName: name, password: md5hex(DEMO_PASSWORD), onlineStatus: 1, clientType: PC, clientVersion: 'stock' }).finish(), CID.CID_LOGIN_RES_USERLOGIN)).body,
    );
    expect(res.resultCode).toBe(0);
    return c;
  }

  /** The next handled frame matching, including one already received. */
  next(match: (f: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const seen = this.handled.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('stock client: expected frame not received')), timeoutMs);
      this.waiters.push({ match, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  }

  send(cid: number, body: Uint8Array): void {
    this.socket.write(encodeFrame(serviceIdOf(cid), cid, 0, body));
  }

  call(cid: number, body: Uint8Array, replyCid: number): Promise<Frame> {
    const seq = ++this.seq;
    this.socket.write(encodeFrame(serviceIdOf(cid), cid, seq, body));
    return this.next((f) => f.commandId === replyCid && f.seqNum === seq);
  }

  private onFrame(f: Frame): void {
    if (!TEAMTALK_CIDS.has(f.commandId)) {
      this.ignored.push(f.commandId);
      return;
    }
    this.handled.push(f);
    if (f.commandId === CID.CID_MSG_DATA) {
      const m = IM.Message.IMMsgData.decode(f.body);
      const ack = IM.Message.IMMsgDataAck.encode({ userId: m.toSessionId, sessionId: m.fromUserId, msgId: m.msgId, sessionType: SINGLE }).finish();
      this.socket.write(encodeFrame(serviceIdOf(CID.CID_MSG_DATA_ACK), CID.CID_MSG_DATA_ACK, 0, ack));
    }
    for (let i = this.waiters.length - 1; i >= 0; i -= 1) {
      if (this.waiters[i].match(f)) this.waiters.splice(i, 1)[0].resolve(f);
    }
  }
}

const msgDataText = (f: Frame): string => Buffer.from(IM.Message.IMMsgData.decode(f.body).msgData).toString('utf8');

suite.afterEachTest(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

describe('recall (docs/PROTOCOL.md §6)', () => {
  it('within the window: the online receiver and the sender\'s other device get the notify; history shows the placeholder; the unread count drops', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const alice = await online(a, gw1());
    const aliceMobile = await online(a, gw2(), ANDROID);
    const bob = await online(b, gw2());
    const bobRecalls = recalls(bob);
    const mobileRecalls = recalls(aliceMobile);
    const bobTexts = texts(bob);

    const kept = await alice.sendText(b.id, 'kept');
    const sent = await alice.sendText(b.id, 'secret plan');
    await waitFor(() => bobTexts.includes('secret plan'), 5000, { what: 'bob got the message' });
    expect(await singleUnread(bob, a.id)).toBe(2);

    const rsp = await alice.recall(SINGLE, b.id, sent.msgId);
    expect([rsp.resultCode, rsp.msgId]).toEqual([MsgRecallResult.RECALL_OK, sent.msgId]);
    expect(rsp.recallTime).toBeGreaterThan(0);

    await waitFor(() => bobRecalls.length > 0 && mobileRecalls.length > 0, 5000, { what: 'recall notifies' });
    for (const n of [bobRecalls[0], mobileRecalls[0]]) {
      expect([n.fromUserId, n.toSessionId, n.msgId, n.sessionType, n.recallTime]).toEqual([a.id, b.id, sent.msgId, SINGLE, rsp.recallTime]);
    }
    expect(await singleUnread(bob, a.id)).toBe(1);

    const page = (await bob.messageList(SINGLE, a.id, 0, 10)).msgList;
    const recalled = page.find((m) => m.msgId === sent.msgId);
    expect(recalled?.recallTime).toBe(rsp.recallTime);
    expect(recalled?.msgType).toBe(IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT);
    expect(plain(recalled?.msgData ?? new Uint8Array())).toBe(RECALLED_TEXT);
    const other = page.find((m) => m.msgId === kept.msgId);
    expect([Buffer.from(other?.msgData ?? []).toString('utf8'), other?.recallTime ?? 0]).toEqual(['kept', 0]);
    const byId = (await alice.messagesById(SINGLE, b.id, [sent.msgId])).msgList;
    expect(byId.map((m) => m.recallTime)).toEqual([rsp.recallTime]);

    const row = await storedRow(a.id, b.id, sent.msgId);
    expect(row.status).toBe(2);
    expect(row.content).not.toContain('secret');
  });

  it('an offline receiver finds the message recalled in history, and it no longer counts as unread', async () => {
    const [a, c] = [await newUser(), await newUser()];
    const alice = await online(a, gw1());
    const first = await alice.sendText(c.id, 'oops');
    await alice.sendText(c.id, 'still here');
    await alice.recall(SINGLE, c.id, first.msgId);

    const carol = await online(c, gw2());
    expect(await singleUnread(carol, a.id)).toBe(1);
    const page = (await carol.messageList(SINGLE, a.id, 0, 10)).msgList;
    expect(page.map((m) => [m.msgId, m.recallTime ? plain(m.msgData) : Buffer.from(m.msgData).toString('utf8')])).toEqual([
      [first.msgId + 1, 'still here'],
      [first.msgId, RECALLED_TEXT],
    ]);
  });

  it('refuses someone else, an unknown id, a message past the window and a second recall, each with its code; the receiver hears of none', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const alice = await online(a, gw1());
    const bob = await online(b, gw2());
    const bobRecalls = recalls(bob);
    const bobTexts = texts(bob);
    const sent = await alice.sendText(b.id, 'mine');
    const old = await alice.sendText(b.id, 'old news');

    expect(await refusalCode(bob.recall(SINGLE, a.id, sent.msgId))).toBe(MsgRecallResult.RECALL_NOT_SENDER);
    expect(await refusalCode(alice.recall(SINGLE, b.id, old.msgId + 100))).toBe(MsgRecallResult.RECALL_NO_SUCH_MSG);
    // The message was sent longer ago than the window (TT_RECALL_WINDOW_SEC, default 120).
    const [rel] = await suite.pool.query<RowDataPacket[]>('SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ?', [Math.min(a.id, b.id), Math.max(a.id, b.id)]);
    const relateId = Number(rel[0].id);
    await suite.pool.query(`UPDATE IMMessage_${relateId % 8} SET created = created - 121 WHERE relateId = ? AND msgId = ?`, [relateId, old.msgId]);
    expect(await refusalCode(alice.recall(SINGLE, b.id, old.msgId))).toBe(MsgRecallResult.RECALL_WINDOW_PASSED);
    await alice.recall(SINGLE, b.id, sent.msgId);
    expect(await refusalCode(alice.recall(SINGLE, b.id, sent.msgId))).toBe(MsgRecallResult.RECALL_ALREADY_RECALLED);

    // The marker is delivered after any notify the requests above could have caused.
    await alice.sendText(b.id, 'marker');
    await waitFor(() => bobTexts.includes('marker'), 5000, { what: 'marker' });
    expect(bobRecalls.map((n) => n.msgId)).toEqual([sent.msgId]);
    expect((await storedRow(a.id, b.id, old.msgId)).status).toBe(0);
  });

  it('a stock TeamTalk client ignores the new commands and keeps working: the marker after them arrives, history decodes with TeamTalk\'s schema', async () => {
    const [a, d] = [await newUser(), await newUser()];
    const alice = await online(a, gw1());
    const stock = await StockClient.login(gw2(), d.name);
    const sent = await alice.sendText(d.id, 'to be recalled');
    await stock.next((f) => f.commandId === CID.CID_MSG_DATA && msgDataText(f) === 'to be recalled');
    await alice.recall(SINGLE, d.id, sent.msgId);
    await alice.sendText(d.id, 'marker');
    await stock.next((f) => f.commandId === CID.CID_MSG_DATA && msgDataText(f) === 'marker');
    expect(stock.ignored).toEqual([CID.CID_MSG_RECALL_NOTIFY]);

    const req = IM.Message.IMGetMsgListReq.encode({ userId: d.id, sessionType: SINGLE, sessionId: a.id, msgIdBegin: 0, msgCnt: 10 }).finish();
    const page = StockMsgListRsp.toObject(StockMsgListRsp.decode((await stock.call(CID.CID_MSG_LIST_REQUEST, req, CID.CID_MSG_LIST_RESPONSE)).body), { bytes: Buffer }) as {
      msgList: Array<{ msgId: number; msgData: Buffer }>;
    };
    expect(page.msgList.map((m) => [m.msgId, m.msgId === sent.msgId ? plain(m.msgData) : m.msgData.toString('utf8')])).toEqual([
      [sent.msgId + 1, 'marker'],
      [sent.msgId, RECALLED_TEXT],
    ]);
    // Its read ack (TeamTalk's own command) becomes alice's receipt; the stock client still answers heartbeats.
    const receipts: IM.Message.IMMsgReadReceiptNotify[] = [];
    alice.on('readReceipt', (n) => receipts.push(n));
    const ack = IM.Message.IMMsgDataReadAck.encode({ userId: d.id, sessionId: a.id, msgId: sent.msgId + 1, sessionType: SINGLE }).finish();
    stock.send(CID.CID_MSG_READ_ACK, ack);
    await waitFor(() => receipts.length > 0, 5000, { what: 'receipt of the stock client\'s read ack' });
    expect([receipts[0].readerId, receipts[0].msgId]).toEqual([d.id, sent.msgId + 1]);
    const heartbeat = await stock.call(CID.CID_OTHER_HEARTBEAT, new Uint8Array(), CID.CID_OTHER_HEARTBEAT);
    expect(heartbeat.body.length).toBe(0);
  });
});

describe('read receipts (docs/PROTOCOL.md §6)', () => {
  it('1:1: the receiver\'s read ack reaches the sender\'s connections as a receipt; readers() names the peer', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const alice = await online(a, gw1());
    const bob = await online(b, gw2());
    const receipts: IM.Message.IMMsgReadReceiptNotify[] = [];
    alice.on('readReceipt', (n) => receipts.push(n));
    const bobTexts = texts(bob);
    const sent = await alice.sendText(b.id, 'did you read this?');
    await waitFor(() => bobTexts.length > 0, 5000, { what: 'delivery' });
    const before = await alice.readers(SINGLE, b.id, sent.msgId);
    expect([before.readCount, before.unreadCount, before.unreadUserIdList]).toEqual([0, 1, [b.id]]);

    bob.readAck(SINGLE, a.id, sent.msgId);
    await waitFor(() => receipts.length > 0, 5000, { what: 'read receipt' });
    expect([receipts[0].readerId, receipts[0].sessionType, receipts[0].sessionId, receipts[0].msgId]).toEqual([b.id, SINGLE, b.id, sent.msgId]);
    const after = await alice.readers(SINGLE, b.id, sent.msgId);
    expect([after.readCount, after.unreadCount, after.readUserIdList]).toEqual([1, 0, [b.id]]);
    // Only the sender may ask.
    expect(await refusalCode(bob.readers(SINGLE, a.id, sent.msgId))).toBe(MsgRecallResult.RECALL_NOT_SENDER);
  });

  it('group: after two of three members read, readers() counts 2 read and 1 unread with their ids; a recall then lowers only the unread member\'s count', async () => {
    const [o, m1, m2, m3] = [await newUser(), await newUser(), await newUser(), await newUser()];
    const owner = await online(o, gw1());
    const [c1, c2, c3] = [await online(m1, gw2()), await online(m2, gw1()), await online(m3, gw2())];
    const groupId = (await owner.groups.createGroup('readers', '', [o.id, m1.id, m2.id, m3.id])).groupId;
    const c3Recalls = recalls(c3);
    const got = [texts(c1), texts(c2), texts(c3)];
    const sent = await owner.groups.sendGroupText(groupId, 'group news');
    await waitFor(() => got.every((t) => t.includes('group news')), 5000, { what: 'group delivery' });
    expect(await groupUnread(c3, groupId)).toBe(1);

    c1.readAck(GROUP, groupId, sent.msgId);
    c2.readAck(GROUP, groupId, sent.msgId);
    await waitFor(async () => (await owner.readers(GROUP, groupId, sent.msgId)).readCount === 2, 5000, { what: 'two readers' });
    const rsp = await owner.readers(GROUP, groupId, sent.msgId);
    expect([rsp.readCount, rsp.unreadCount, rsp.readUserIdList, rsp.unreadUserIdList]).toEqual([2, 1, [m1.id, m2.id].sort((x, y) => x - y), [m3.id]]);

    await owner.recall(GROUP, groupId, sent.msgId);
    await waitFor(() => c3Recalls.length > 0, 5000, { what: 'group recall notify' });
    expect([c3Recalls[0].fromUserId, c3Recalls[0].toSessionId, c3Recalls[0].sessionType]).toEqual([o.id, groupId, GROUP]);
    expect(await groupUnread(c3, groupId)).toBe(0);
    expect(await groupUnread(c1, groupId)).toBe(0);
    const page = (await c3.messageList(GROUP, groupId, 0, 10)).msgList;
    expect(page.map((m) => [m.msgId, m.recallTime ? plain(m.msgData) : 'not recalled'])).toEqual([[sent.msgId, RECALLED_TEXT]]);
  });
});
