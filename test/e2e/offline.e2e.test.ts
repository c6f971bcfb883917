// Offline messages, unread, history, read sync and audio (docs/FLOWS.md §4, §6, §7),
// over TCP against a real cluster: two db-proxy instances, two gateways.
import Redis from 'ioredis';
import { isClientError, SessionType, TeamTalkClient } from '@tiertalk/client';
import { CID, IM } from '@tiertalk/proto';
import { GatewayInfo, waitFor } from '@tiertalk/testkit';
import { ANDROID, loggedIn, nextMessage, PC, userId } from './helpers';
import { signInfoMarkerArrives } from './absence';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const SINGLE = SessionType.SESSION_TYPE_SINGLE;
const AUDIO = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_AUDIO;
// "[语音]" encrypted with TeamTalk's default key (docs/PROTOCOL.md §5), computed independently with openssl.
const AUDIO_PREVIEW = 'QhGXlpFjvMFUNrtl1aaPzA==';

const suite = e2eSuite('offline', { dbProxy: 2, route: 1, msg: 2 });
const gw1 = (): GatewayInfo => suite.gateway(0);
const gw2 = (): GatewayInfo => suite.gateway(1);

const newUser = suite.newUser;

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** Collects the PDUs of one command a client receives (pushes: seq 0). */
function pdus(c: TeamTalkClient, commandId: number): Uint8Array[] {
  const got: Uint8Array[] = [];
  c.on('pdu', (p) => {
    if (p.commandId === commandId) got.push(p.body);
  });
  return got;
}

/** A request with a forged body (user_id of someone else, bad ids): the decoded reply, or undefined when none comes. */
async function rawRequest<T>(c: TeamTalkClient, cid: number, body: Uint8Array, replyCid: number, decode: (b: Uint8Array) => T): Promise<T | undefined> {
  try {
    return await c.request(cid, body, replyCid, decode, { timeoutMs: 1500 });
  } catch (err) {
    if (isClientError(err, 'REQUEST_TIMEOUT')) return undefined;
    throw err;
  }
}

describe('offline messages (docs/FLOWS.md §14 O1, O2, O4, O10)', () => {
  it('offline → unread → history → read ack → unread zero, across two gateways', async () => {
    const sender = await newUser('off_s');
    const reader = await newUser('off_r');
    const bob = await suite.loggedIn(gw1(), sender.name);
    const sent: number[] = [];
    for (const t of ['first', 'second', 'third']) sent.push((await bob.sendText(reader.id, t)).msgId);
    expect(sent).toEqual([1, 2, 3]);

    // The reader was offline; on another gateway it pulls what it missed.
    const alice = await suite.loggedIn(gw2(), reader.name);
    const unread = await alice.unreadCounts();
    expect(unread.userId).toBe(reader.id);
    expect(unread.totalCnt).toBe(3);
    expect(unread.unreadinfoList).toHaveLength(1);
    expect(unread.unreadinfoList[0]).toMatchObject({
      sessionId: sender.id,
      sessionType: SINGLE,
      unreadCnt: 3,
      latestMsgId: 3,
      latestMsgType: IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT,
      latestMsgFromUserId: sender.id,
    });
    expect(text(unread.unreadinfoList[0].latestMsgData)).toBe('third');

    const history = await alice.messageList(SINGLE, sender.id, 0, 20);
    expect(history).toMatchObject({ userId: reader.id, sessionType: SINGLE, sessionId: sender.id, msgIdBegin: 0 });
    expect(history.msgList.map((m) => [m.msgId, m.fromSessionId, text(m.msgData)])).toEqual([
      [3, sender.id, 'third'],
      [2, sender.id, 'second'],
      [1, sender.id, 'first'],
    ]);
    expect(history.msgList.every((m) => m.createTime > 1_600_000_000)).toBe(true);

    // A read ack clears the whole counter, whatever msg_id it names.
    alice.readAck(SINGLE, sender.id, 1);
    await waitFor(async () => (await alice.unreadCounts()).totalCnt === 0, 5000, { what: 'unread cleared by the read ack' });
    expect((await alice.unreadCounts()).unreadinfoList).toEqual([]);
    // the sender's own counters were never touched
    expect((await bob.unreadCounts()).totalCnt).toBe(0);
  });

  it('a message pushed live but never read stays unread: after the connection closes it is found on the next login', async () => {
    const sender = await newUser('live_s');
    const reader = await newUser('live_r');
    const bob = await suite.loggedIn(gw1(), sender.name);
    const alice = await loggedIn(gw2(), reader.name);
    const first = nextMessage(alice);
    const ack1 = await bob.sendText(reader.id, 'pushed 1');
    expect(text((await first).msgData)).toBe('pushed 1');
    const second = nextMessage(alice);
    const ack2 = await bob.sendText(reader.id, 'pushed 2');
    expect(text((await second).msgData)).toBe('pushed 2');
    // Received (the SDK answers IMMsgDataAck) but never read: no IMMsgDataReadAck.
    await alice.close();

    const again = await suite.loggedIn(gw1(), reader.name);
    const unread = await again.unreadCounts();
    expect(unread.totalCnt).toBe(2);
    expect(unread.unreadinfoList[0]).toMatchObject({ sessionId: sender.id, unreadCnt: 2, latestMsgId: ack2.msgId });
    const history = await again.messageList(SINGLE, sender.id, 0, 20);
    expect(history.msgList.map((m) => m.msgId)).toEqual([ack2.msgId, ack1.msgId]);
  });

  it('notifies the reader\'s other devices (any gateway) of a read ack, not the acking one (O3)', async () => {
    const sender = await newUser('rn_s');
    const reader = await newUser('rn_r');
    const bob = await suite.loggedIn(gw1(), sender.name);
    await bob.sendText(reader.id, 'read me');
    const pcDevice = await suite.loggedIn(gw1(), reader.name, PC);
    const phone = await suite.loggedIn(gw2(), reader.name, ANDROID);
    const atPc = pdus(pcDevice, CID.CID_MSG_READ_NOTIFY);
    const notified = new Promise<IM.Message.IMMsgDataReadNotify>((resolve) => phone.once('readNotify', resolve));

    pcDevice.readAck(SINGLE, sender.id, 1);
    const notify = await notified;
    expect(notify).toMatchObject({ userId: reader.id, sessionId: sender.id, msgId: 1, sessionType: SINGLE });
    // Routed (the phone has it): a later broadcast reaches the PC after any copy of it.
    await signInfoMarkerArrives(bob, pcDevice);
    expect(atPc).toHaveLength(0);
    // the sender is not the reader: it hears nothing
    expect((await phone.unreadCounts()).totalCnt).toBe(0);
  });

  it('pages history with msg_id_begin, answers by id and the latest id (O5, O6, O8, O9)', async () => {
    const a = await newUser('pg_a');
    const b = await newUser('pg_b');
    const alice = await suite.loggedIn(gw1(), a.name);
    const bob = await suite.loggedIn(gw2(), b.name);
    for (let i = 1; i <= 12; i++) await (i % 3 === 0 ? bob.sendText(a.id, `m${i}`) : alice.sendText(b.id, `m${i}`));

    const newest = await alice.messageList(SINGLE, b.id, 0, 5);
    expect(newest.msgList.map((m) => m.msgId)).toEqual([12, 11, 10, 9, 8]);
    const page2 = await alice.messageList(SINGLE, b.id, 7, 5);
    expect(page2.msgIdBegin).toBe(7);
    expect(page2.msgList.map((m) => m.msgId)).toEqual([7, 6, 5, 4, 3]);
    expect(page2.msgList.map((m) => text(m.msgData))).toEqual(['m7', 'm6', 'm5', 'm4', 'm3']);
    const last = await bob.messageList(SINGLE, a.id, 2, 5);
    expect(last.msgList.map((m) => [m.msgId, m.fromSessionId])).toEqual([
      [2, a.id],
      [1, a.id],
    ]);

    const byId = await bob.messagesById(SINGLE, a.id, [3, 11, 500, 1]);
    expect(byId).toMatchObject({ userId: b.id, sessionType: SINGLE, sessionId: a.id });
    expect(byId.msgList.map((m) => [m.msgId, text(m.msgData)])).toEqual([
      [11, 'm11'],
      [3, 'm3'],
      [1, 'm1'],
    ]);
    expect(await alice.latestMsgId(SINGLE, b.id)).toBe(12);

    // a pair that never chatted: empty, and no relation is created
    const stranger = await newUser('pg_x');
    const [before] = await suite.pool.query<import('mysql2/promise').RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMRelationShip');
    expect((await alice.messageList(SINGLE, stranger.id, 0, 20)).msgList).toEqual([]);
    expect(await alice.latestMsgId(SINGLE, stranger.id)).toBe(0);
    const [after] = await suite.pool.query<import('mysql2/promise').RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMRelationShip');
    expect(Number(after[0].n)).toBe(Number(before[0].n));
  });
});

describe('audio messages (docs/FLOWS.md §14 M9)', () => {
  it('delivers live, returns duration + bytes in history and shows the encrypted "[语音]" in the unread preview', async () => {
    const s = await newUser('au_s');
    const r = await newUser('au_r');
    const sender = await suite.loggedIn(gw1(), s.name);
    const receiver = await suite.loggedIn(gw2(), r.name);
    const sound = Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 31) % 256));
    const live = nextMessage(receiver);
    const ack = await sender.sendAudio(r.id, 9, sound);
    expect(ack.msgId).toBe(1);
    const expected = Buffer.concat([Buffer.from([0, 0, 0, 9]), sound]);

    const got = await live;
    expect(got.msgType).toBe(AUDIO);
    expect(Buffer.compare(Buffer.from(got.msgData), expected)).toBe(0);

    const history = await receiver.messageList(SINGLE, s.id, 0, 10);
    expect(history.msgList).toHaveLength(1);
    expect(history.msgList[0]).toMatchObject({ msgId: 1, msgType: AUDIO, fromSessionId: s.id });
    expect(Buffer.compare(Buffer.from(history.msgList[0].msgData), expected)).toBe(0);

    const unread = await receiver.unreadCounts();
    expect(unread.unreadinfoList[0]).toMatchObject({ sessionId: s.id, latestMsgType: AUDIO, unreadCnt: 1 });
    expect(text(unread.unreadinfoList[0].latestMsgData)).toBe(AUDIO_PREVIEW);
    const sessions = await sender.recentSessions();
    expect(text(sessions.contactSessionList[0].latestMsgData)).toBe(AUDIO_PREVIEW);

    // 4 bytes or less (a duration and no sound) is refused: no ACK, nothing stored.
    const refused = await sender.sendAudio(r.id, 3, new Uint8Array(0), { timeoutMs: 1500 }).then(
      () => 'acked',
      (err: unknown) => (isClientError(err) ? err.code : String(err)),
    );
    expect(refused).not.toBe('acked');
    expect(await receiver.latestMsgId(SINGLE, s.id)).toBe(1);
  });
});

describe('hostile input in message content', () => {
  it.each([
    ['SQL', "x'); DROP TABLE IMMessage_0; -- "],
    ['quotes and backslashes', '\\\'"`\\0\\n%s%d${x}'],
    ['markup', '<script>alert(1)</script><img src=x onerror=alert(1)>'],
    ['unicode', '\u202e\u0000\ufeff 你好 🎉 \ud83d\ude00 Z͑ͫ̓ͪ̂ͫ̽͏̴̙̤̞͉͚̯̞̠͍'],
    ['4096 characters', '界'.repeat(4096)],
  ])('stores and returns %s byte-for-byte in history and previews', async (_what, hostile) => {
    const s = await newUser('h_s');
    const r = await newUser('h_r');
    const sender = await suite.loggedIn(gw1(), s.name);
    const receiver = await suite.loggedIn(gw2(), r.name);
    const live = nextMessage(receiver);
    await sender.sendText(r.id, hostile);
    expect(text((await live).msgData)).toBe(hostile);
    expect(text((await receiver.messageList(SINGLE, s.id, 0, 1)).msgList[0].msgData)).toBe(hostile);
    expect(text((await receiver.unreadCounts()).unreadinfoList[0].latestMsgData)).toBe(hostile);
    expect(text((await receiver.recentSessions()).contactSessionList[0].latestMsgData)).toBe(hostile);
  });
});

describe('access rules', () => {
  it('never lets a user read, ack, list or remove the conversation of two other users', async () => {
    const bUser = await newUser('ac_b');
    const cUser = await newUser('ac_c');
    const aUser = await newUser('ac_a');
    const b = await suite.loggedIn(gw1(), bUser.name);
    await b.sendText(cUser.id, 'between b and c');
    await b.sendText(cUser.id, 'still private');
    const a = await suite.loggedIn(gw2(), aUser.name);

    // a claims to be b (user_id is overwritten with a's own id) and names c.
    const asB = { userId: bUser.id, sessionType: SINGLE, sessionId: cUser.id };
    const list = await rawRequest(a, CID.CID_MSG_LIST_REQUEST, IM.Message.IMGetMsgListReq.encode({ ...asB, msgIdBegin: 0, msgCnt: 50 }).finish(), CID.CID_MSG_LIST_RESPONSE, (x) =>
      IM.Message.IMGetMsgListRsp.decode(x),
    );
    expect(list).toMatchObject({ userId: aUser.id, sessionId: cUser.id, msgList: [] });
    const byId = await rawRequest(
      a,
      CID.CID_MSG_GET_BY_MSG_ID_REQ,
      IM.Message.IMGetMsgByIdReq.encode({ ...asB, msgIdList: [1, 2] }).finish(),
      CID.CID_MSG_GET_BY_MSG_ID_RES,
      (x) => IM.Message.IMGetMsgByIdRsp.decode(x),
    );
    expect(byId).toMatchObject({ userId: aUser.id, msgList: [] });
    const latest = await rawRequest(a, CID.CID_MSG_GET_LATEST_MSG_ID_REQ, IM.Message.IMGetLatestMsgIdReq.encode(asB).finish(), CID.CID_MSG_GET_LATEST_MSG_ID_RSP, (x) =>
      IM.Message.IMGetLatestMsgIdRsp.decode(x),
    );
    expect(latest).toMatchObject({ userId: aUser.id, latestMsgId: 0 });
    const unread = await rawRequest(a, CID.CID_MSG_UNREAD_CNT_REQUEST, IM.Message.IMUnreadMsgCntReq.encode({ userId: cUser.id }).finish(), CID.CID_MSG_UNREAD_CNT_RESPONSE, (x) =>
      IM.Message.IMUnreadMsgCntRsp.decode(x),
    );
    expect(unread).toMatchObject({ userId: aUser.id, totalCnt: 0, unreadinfoList: [] });
    const sessions = await rawRequest(
      a,
      CID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST,
      IM.Buddy.IMRecentContactSessionReq.encode({ userId: bUser.id, latestUpdateTime: 0 }).finish(),
      CID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_RESPONSE,
      (x) => IM.Buddy.IMRecentContactSessionRsp.decode(x),
    );
    expect(sessions).toMatchObject({ userId: aUser.id, contactSessionList: [] });
    a.sendFrame(CID.CID_MSG_READ_ACK, 77, IM.Message.IMMsgDataReadAck.encode({ userId: cUser.id, sessionId: bUser.id, msgId: 2, sessionType: SINGLE }).finish());
    const removed = await rawRequest(
      a,
      CID.CID_BUDDY_LIST_REMOVE_SESSION_REQ,
      IM.Buddy.IMRemoveSessionReq.encode(asB).finish(),
      CID.CID_BUDDY_LIST_REMOVE_SESSION_RES,
      (x) => IM.Buddy.IMRemoveSessionRsp.decode(x),
    );
    expect(removed).toMatchObject({ userId: aUser.id, resultCode: 1 });

    // c's unread and b's and c's sessions are as before.
    const c = await suite.loggedIn(gw1(), cUser.name);
    const cUnread = await c.unreadCounts();
    expect(cUnread.unreadinfoList.map((u) => [u.sessionId, u.unreadCnt])).toEqual([[bUser.id, 2]]);
    expect((await b.recentSessions()).contactSessionList.map((s) => s.sessionId)).toEqual([cUser.id]);
    expect((await c.messageList(SINGLE, bUser.id, 0, 10)).msgList.map((m) => text(m.msgData))).toEqual(['still private', 'between b and c']);
  });

  it('ignores requests naming no session, oneself or an unknown session type (no reply, logged), and stays up', async () => {
    const u = await newUser('ac_z');
    const peer = await newUser('ac_p');
    const c = await suite.loggedIn(gw1(), u.name);
    await c.sendText(peer.id, 'hello');
    const bad: Array<[number, number]> = [
      [SINGLE, 0],
      [SINGLE, u.id],
      [9, peer.id],
    ];
    for (const [sessionType, sessionId] of bad) {
      const body = IM.Message.IMGetMsgListReq.encode({ userId: u.id, sessionType, sessionId, msgIdBegin: 0, msgCnt: 10 }).finish();
      expect(await rawRequest(c, CID.CID_MSG_LIST_REQUEST, body, CID.CID_MSG_LIST_RESPONSE, (x) => IM.Message.IMGetMsgListRsp.decode(x))).toBeUndefined();
      const latest = IM.Message.IMGetLatestMsgIdReq.encode({ userId: u.id, sessionType, sessionId }).finish();
      expect(await rawRequest(c, CID.CID_MSG_GET_LATEST_MSG_ID_REQ, latest, CID.CID_MSG_GET_LATEST_MSG_ID_RSP, (x) => IM.Message.IMGetLatestMsgIdRsp.decode(x))).toBeUndefined();
    }
    // an absurd page size is capped, not served
    const huge = await c.messageList(SINGLE, peer.id, 0, 0xffffffff);
    expect(huge.msgList.map((m) => m.msgId)).toEqual([1]);
    // a body that is not the message it claims to be is dropped; the connection stays
    c.sendFrame(CID.CID_MSG_LIST_REQUEST, 5, Buffer.from([0xff, 0xff, 0xff]));
    await c.heartbeat();
    expect(await c.latestMsgId(SINGLE, peer.id)).toBe(1);
    for (const info of suite.cluster.instanceInfo()) expect(info.alive).toBe(true);
  });
});

describe('message ids with two db-proxy instances', () => {
  it('numbers a busy conversation 1..N in both directions, over both instances and both gateways', async () => {
    const a = await newUser('id_a');
    const b = await newUser('id_b');
    const alice = await suite.loggedIn(gw1(), a.name);
    const bob = await suite.loggedIn(gw2(), b.name);
    const sends: Array<Promise<{ msgId: number }>> = [];
    for (let i = 0; i < 15; i++) sends.push(alice.sendText(b.id, `a${i}`), bob.sendText(a.id, `b${i}`));
    const acks = (await Promise.all(sends)).map((x) => x.msgId).sort((x, y) => x - y);
    expect(acks).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const history = await alice.messageList(SINGLE, b.id, 0, 100);
    expect(history.msgList.map((m) => m.msgId).sort((x, y) => x - y)).toEqual(acks);
  });
});

describe('the sync Redis', () => {
  it('holds the conversation index that recent sessions are served from', async () => {
    const a = await newUser('ix_a');
    const b = await newUser('ix_b');
    const alice = await suite.loggedIn(gw1(), a.name);
    await alice.sendText(b.id, 'indexed');
    expect((await alice.recentSessions()).contactSessionList.map((s) => s.sessionId)).toEqual([b.id]);
    const redis = new Redis(suite.redisUrls.dbProxy);
    try {
      expect(await redis.zrange(`tt_conv_{${a.id}}`, 0, -1)).toEqual([`1:${String(b.id).padStart(10, '0')}`]);
    } finally {
      redis.disconnect();
    }
  });
});
