// db-proxy's recall and readers handlers (docs/PROTOCOL.md §6) against real
// MariaDB and Redis, after real commits: an audio message becomes the text
// placeholder in history and previews, a receiver who already read keeps a
// zero count, a zero window refuses at once, readers follow read acks.
import { IM, decryptContent } from '@tiertalk/proto';
import { OfflineReads } from '../src/handlers/message/offline-reads';
import { ReadAcks } from '../src/handlers/message/read-ack';
import { Readers } from '../src/handlers/recall/readers';
import { RECALLED_TEXT, Recalls } from '../src/handlers/recall/recall';
import { AES_KEY, Instance, openOfflineFixture, OfflineFixture, silentLog } from './offline-fixture';

const SINGLE = IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE;
const TEXT = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT;
const AUDIO = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_AUDIO;
const { MsgRecallResult } = IM.Message;

let fx: OfflineFixture;
let inst: Instance;
let reads: OfflineReads;
let acks: ReadAcks;
let readers: Readers;

const recallsWithin = (windowSec: number): Recalls => new Recalls(inst.stores, inst.redis.unread, inst.mysql.master, { windowSec, aesKey: AES_KEY }, silentLog);
const recallReq = (userId: number, sessionId: number, msgId: number): IM.Message.IMMsgRecallReq =>
  IM.Message.IMMsgRecallReq.create({ userId, sessionType: SINGLE, sessionId, msgId });

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_recall_test');
  inst = fx.instance();
  reads = new OfflineReads(inst.stores, inst.redis.unread, silentLog);
  acks = new ReadAcks(inst.stores, inst.redis.unread, inst.mysql.master, silentLog);
  readers = new Readers(inst.stores, inst.mysql.master);
});
afterAll(async () => {
  await fx.close();
});

describe('recall in db-proxy', () => {
  it('turns an audio message into the encrypted placeholder text in history and previews, and takes it off the unread count', async () => {
    const { carol, dave } = fx.ids;
    const payload = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.alloc(300, 7)]);
    const out = await inst.store(carol, dave, payload, AUDIO);
    expect(out.result).toBe(0);
    expect(await fx.redis.hget(`unread_${dave}`, String(carol))).toBe('1');

    const rsp = await recallsWithin(120).recall(recallReq(carol, dave, out.msgId));
    expect(rsp.resultCode).toBe(MsgRecallResult.RECALL_OK);
    expect(await fx.redis.hget(`unread_${dave}`, String(carol))).toBeNull();

    const page = await reads.msgList(IM.Message.IMGetMsgListReq.create({ userId: dave, sessionType: SINGLE, sessionId: carol, msgIdBegin: 0, msgCnt: 5 }));
    expect(page.msgList[0]).toMatchObject({ msgId: out.msgId, msgType: TEXT, recallTime: rsp.recallTime });
    expect(decryptContent(page.msgList[0].msgData, AES_KEY)).toBe(RECALLED_TEXT);
    const latest = await reads.latestMsgId(IM.Message.IMGetLatestMsgIdReq.create({ userId: dave, sessionType: SINGLE, sessionId: carol }));
    expect(latest.latestMsgId).toBe(out.msgId);
  });

  it('leaves a receiver who had read the message at zero, and refuses at once with a zero window', async () => {
    const { alice, bob } = fx.ids;
    const out = await inst.store(alice, bob, 'read already');
    await acks.readAck(IM.Message.IMMsgDataReadAck.create({ userId: bob, sessionType: SINGLE, sessionId: alice, msgId: out.msgId }));
    const later = await inst.store(alice, bob, 'not read yet');
    expect(await fx.redis.hget(`unread_${bob}`, String(alice))).toBe('1');

    expect((await recallsWithin(120).recall(recallReq(alice, bob, out.msgId))).resultCode).toBe(MsgRecallResult.RECALL_OK);
    // The read message did not count; the unread one still does.
    expect(await fx.redis.hget(`unread_${bob}`, String(alice))).toBe('1');
    expect((await recallsWithin(0).recall(recallReq(alice, bob, later.msgId))).resultCode).toBe(MsgRecallResult.RECALL_WINDOW_PASSED);
    // A session that cannot exist is answered too.
    const bad = IM.Message.IMMsgRecallReq.create({ userId: alice, sessionType: 9 as IM.BaseDefine.SessionType, sessionId: bob, msgId: later.msgId });
    expect((await recallsWithin(120).recall(bad)).resultCode).toBe(MsgRecallResult.RECALL_NO_SUCH_MSG);
    expect((await recallsWithin(120).recall(recallReq(alice, alice, later.msgId))).resultCode).toBe(MsgRecallResult.RECALL_NO_SUCH_MSG);
  });

  it('names the reader once their read ack covers the message; only the sender may ask', async () => {
    const { alice, carol } = fx.ids;
    const out = await inst.store(alice, carol, 'seen?');
    const ask = (userId: number, sessionId: number): Promise<IM.Message.IMMsgReadersRsp> =>
      readers.readers(IM.Message.IMMsgReadersReq.create({ userId, sessionType: SINGLE, sessionId, msgId: out.msgId }));
    expect(await ask(alice, carol)).toMatchObject({ resultCode: 0, readCount: 0, unreadCount: 1, unreadUserIdList: [carol] });
    await acks.readAck(IM.Message.IMMsgDataReadAck.create({ userId: carol, sessionType: SINGLE, sessionId: alice, msgId: out.msgId }));
    expect(await ask(alice, carol)).toMatchObject({ resultCode: 0, readCount: 1, unreadCount: 0, readUserIdList: [carol] });
    expect((await ask(carol, alice)).resultCode).toBe(MsgRecallResult.RECALL_NOT_SENDER);
  });
});
