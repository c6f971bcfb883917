// db-proxy's offline reads, read acks and recent sessions (docs/FLOWS.md §6-§8)
// against real MariaDB and Redis: what the handlers answer after real commits.
import type { RowDataPacket } from 'mysql2/promise';
import { IM } from '@tiertalk/proto';
import { OfflineReads } from '../src/handlers/message/offline-reads';
import { ReadAcks } from '../src/handlers/message/read-ack';
import { decryptContent, encryptContent } from '@tiertalk/proto';
import { AUDIO_PREVIEW_TEXT } from '../src/handlers/message/audio-preview';

const teamTalkEncrypt = (plain: string, key: string): string => encryptContent(plain, key).toString('latin1');
const teamTalkDecrypt = (base64: string, key: string): string | undefined => decryptContent(Buffer.from(base64, 'latin1'), key);
import { RecentSessions } from '../src/handlers/session/recent-sessions';
import { conversationKeys, conversationMember } from '../src/store/conversation-index';
import { groupCounterKeys } from '../src/store/group-message-reader';
import { RequestError } from '../src/unary';
import { AES_KEY, Instance, openOfflineFixture, OfflineFixture, silentLog } from './offline-fixture';

const SINGLE = IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE;
const GROUP = IM.BaseDefine.SessionType.SESSION_TYPE_GROUP;
const TEXT = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT;
const AUDIO = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_AUDIO;

let fx: OfflineFixture;
let inst: Instance;
let reads: OfflineReads;
let acks: ReadAcks;
let sessions: RecentSessions;

function handlersOf(i: Instance): { reads: OfflineReads; acks: ReadAcks; sessions: RecentSessions } {
  const a = new ReadAcks(i.stores, i.redis.unread, i.mysql.master, silentLog);
  return {
    reads: new OfflineReads(i.stores, i.redis.unread, silentLog),
    acks: a,
    sessions: new RecentSessions(i.stores, a, i.mysql, silentLog),
  };
}

beforeAll(async () => {
  fx = await openOfflineFixture('a_tt_dbproxy_offline_test');
  inst = fx.instance();
  ({ reads, acks, sessions } = handlersOf(inst));
});
afterAll(async () => {
  await fx.close();
});

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const nextSecond = (): Promise<void> => new Promise((r) => setTimeout(r, 1050 - (Date.now() % 1000)));

async function sendAll(from: number, to: number, texts: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const t of texts) {
    const out = await inst.store(from, to, t);
    expect(out.result).toBe(0);
    ids.push(out.msgId);
  }
  return ids;
}

async function list(userId: number, sessionId: number, msgIdBegin: number, msgCnt: number): Promise<IM.Message.IMGetMsgListRsp> {
  return reads.msgList(IM.Message.IMGetMsgListReq.create({ userId, sessionType: SINGLE, sessionId, msgIdBegin, msgCnt }));
}

async function recent(userId: number, latestUpdateTime = 0): Promise<IM.Buddy.IMRecentContactSessionRsp> {
  return sessions.list(IM.Buddy.IMRecentContactSessionReq.create({ userId, latestUpdateTime }));
}

async function refusal(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (err: unknown) => (err instanceof RequestError ? err.code : `unexpected ${String(err)}`),
  );
}

describe('unread counters and history (docs/FLOWS.md §7)', () => {
  it('counts offline messages per peer with the latest message, and pages history newest first', async () => {
    const { alice, bob, carol } = fx.ids;
    await sendAll(bob, alice, ['one', 'two', 'three']);
    await sendAll(carol, alice, ['hi alice']);
    await sendAll(alice, bob, ['a reply']);

    const unread = await reads.unreadCount(IM.Message.IMUnreadMsgCntReq.create({ userId: alice }));
    expect(unread.userId).toBe(alice);
    expect(unread.totalCnt).toBe(4);
    const byPeer = new Map(unread.unreadinfoList.map((u) => [u.sessionId, u]));
    expect(byPeer.get(bob)).toMatchObject({ sessionType: SINGLE, unreadCnt: 3, latestMsgId: 4, latestMsgType: TEXT, latestMsgFromUserId: bob });
    // The latest message of the pair is alice's own reply; TeamTalk still reports the peer as its sender.
    expect(text(byPeer.get(bob)?.latestMsgData ?? new Uint8Array())).toBe('a reply');
    expect(byPeer.get(carol)).toMatchObject({ unreadCnt: 1, latestMsgId: 1, latestMsgFromUserId: carol });

    const page = await list(alice, bob, 0, 2);
    expect(page).toMatchObject({ userId: alice, sessionType: SINGLE, sessionId: bob, msgIdBegin: 0 });
    expect(page.msgList.map((m) => [m.msgId, m.fromSessionId, text(m.msgData)])).toEqual([
      [4, alice, 'a reply'],
      [3, bob, 'three'],
    ]);
    const older = await list(alice, bob, 2, 10);
    expect(older.msgIdBegin).toBe(2);
    expect(older.msgList.map((m) => m.msgId)).toEqual([2, 1]);
    // the peer sees the same conversation
    expect((await list(bob, alice, 0, 10)).msgList.map((m) => m.msgId)).toEqual([4, 3, 2, 1]);
  });

  it('caps a page at 100 messages and answers msg_cnt 0 with nothing', async () => {
    const { dave, carol } = fx.ids;
    await Promise.all(Array.from({ length: 130 }, (_, i) => inst.store(dave, carol, `bulk ${i}`)));
    const page = await list(carol, dave, 0, 1_000_000);
    expect(page.msgList).toHaveLength(100);
    expect(page.msgList[0].msgId).toBe(130);
    expect((await list(carol, dave, 0, 0)).msgList).toEqual([]);
  });

  it('answers a pair that never chatted with empty lists and creates no relation', async () => {
    const { alice } = fx.ids;
    const stranger = 4242;
    const [before] = await fx.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMRelationShip');
    expect((await list(alice, stranger, 0, 20)).msgList).toEqual([]);
    expect((await reads.latestMsgId(IM.Message.IMGetLatestMsgIdReq.create({ userId: alice, sessionType: SINGLE, sessionId: stranger }))).latestMsgId).toBe(0);
    expect(
      (await reads.msgById(IM.Message.IMGetMsgByIdReq.create({ userId: alice, sessionType: SINGLE, sessionId: stranger, msgIdList: [1, 2] }))).msgList,
    ).toEqual([]);
    const [after] = await fx.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMRelationShip');
    expect(Number(after[0].n)).toBe(Number(before[0].n));
  });

  it('returns messages by id (existing ones, newest first, at most 100) and the latest id', async () => {
    const { alice, bob } = fx.ids;
    const byId = await reads.msgById(IM.Message.IMGetMsgByIdReq.create({ userId: alice, sessionType: SINGLE, sessionId: bob, msgIdList: [1, 3, 99, 3] }));
    expect(byId).toMatchObject({ userId: alice, sessionType: SINGLE, sessionId: bob });
    expect(byId.msgList.map((m) => [m.msgId, text(m.msgData)])).toEqual([
      [3, 'three'],
      [1, 'one'],
    ]);
    const { dave, carol } = fx.ids;
    const many = await reads.msgById(
      IM.Message.IMGetMsgByIdReq.create({ userId: carol, sessionType: SINGLE, sessionId: dave, msgIdList: Array.from({ length: 150 }, (_, i) => i + 1) }),
    );
    expect(many.msgList).toHaveLength(100);
    expect(
      await refusal(
        reads.msgById(IM.Message.IMGetMsgByIdReq.create({ userId: carol, sessionType: SINGLE, sessionId: dave, msgIdList: Array.from({ length: 1001 }, (_, i) => i + 1) })),
      ),
    ).toBe('request_invalid');
    const latest = await reads.latestMsgId(IM.Message.IMGetLatestMsgIdReq.create({ userId: bob, sessionType: SINGLE, sessionId: alice }));
    expect(latest).toMatchObject({ userId: bob, sessionType: SINGLE, sessionId: alice, latestMsgId: 4 });
  });

  it('stores hostile text and returns it byte-for-byte in history and previews', async () => {
    const { bob, dave } = fx.ids;
    const hostile = "'); DROP TABLE IMMessage_0; -- \\0 \" <script>x</script> %s %n ${x} \u202e 你好 🎉";
    await sendAll(dave, bob, [hostile]);
    expect(text((await list(bob, dave, 0, 1)).msgList[0].msgData)).toBe(hostile);
    const unread = await reads.unreadCount(IM.Message.IMUnreadMsgCntReq.create({ userId: bob }));
    expect(text(unread.unreadinfoList.find((u) => u.sessionId === dave)?.latestMsgData ?? new Uint8Array())).toBe(hostile);
    const session = (await recent(bob)).contactSessionList.find((s) => s.sessionId === dave);
    expect(text(session?.latestMsgData ?? new Uint8Array())).toBe(hostile);
  });
});

describe('read acks (docs/FLOWS.md §6)', () => {
  it('clears the whole unread counter of that session, whatever msg_id says, and records the read cursor', async () => {
    const { alice, bob, carol } = fx.ids;
    await acks.readAck(IM.Message.IMMsgDataReadAck.create({ userId: alice, sessionId: bob, msgId: 1, sessionType: SINGLE }));
    expect(await fx.redis.hget(`unread_${alice}`, String(bob))).toBeNull();
    expect(await fx.redis.hget(`unread_${alice}`, String(carol))).toBe('1');
    const unread = await reads.unreadCount(IM.Message.IMUnreadMsgCntReq.create({ userId: alice }));
    expect(unread.unreadinfoList.map((u) => u.sessionId)).toEqual([carol]);
    expect(unread.totalCnt).toBe(1);
    expect((await inst.stores.conversations.cursors(alice)).get(conversationMember(SINGLE, bob))).toBeGreaterThanOrEqual(1);
  });
});

describe('access rules', () => {
  it('refuses requests that name no session, the user themselves or no user, without touching data', async () => {
    const { alice, bob } = fx.ids;
    const bad: Array<[number, number, number]> = [
      [alice, SINGLE, 0],
      [alice, SINGLE, alice],
      [alice, 7, bob],
      [0, SINGLE, bob],
    ];
    for (const [userId, sessionType, sessionId] of bad) {
      expect(await refusal(reads.msgList(IM.Message.IMGetMsgListReq.create({ userId, sessionType, sessionId, msgIdBegin: 0, msgCnt: 10 })))).toBe('request_invalid');
      expect(await refusal(reads.msgById(IM.Message.IMGetMsgByIdReq.create({ userId, sessionType, sessionId, msgIdList: [1] })))).toBe('request_invalid');
      expect(await refusal(reads.latestMsgId(IM.Message.IMGetLatestMsgIdReq.create({ userId, sessionType, sessionId })))).toBe('request_invalid');
      expect(await refusal(acks.readAck(IM.Message.IMMsgDataReadAck.create({ userId, sessionType, sessionId, msgId: 1 })))).toBe('request_invalid');
      expect(await refusal(sessions.remove(IM.Buddy.IMRemoveSessionReq.create({ userId, sessionType, sessionId })))).toBe('request_invalid');
    }
    expect(await refusal(reads.unreadCount(IM.Message.IMUnreadMsgCntReq.create({ userId: 0 })))).toBe('request_invalid');
    expect(await refusal(recent(0))).toBe('request_invalid');
  });

  it('gives a user only their own conversations: nothing of the bob–carol conversation reaches alice', async () => {
    const { alice, bob, carol } = fx.ids;
    await sendAll(bob, carol, ['secret for carol']);
    const rows = async (): Promise<RowDataPacket[]> => (await fx.pool.query<RowDataPacket[]>('SELECT * FROM IMRecentSession WHERE userId IN (?, ?) ORDER BY id', [bob, carol]))[0];
    const sessionsBefore = await rows();
    const unreadBefore = await fx.redis.hgetall(`unread_${carol}`);

    // Whatever alice names, the answer is about alice and that peer.
    const seen: string[] = [];
    for (const peer of [bob, carol]) {
      for (const m of (await list(alice, peer, 0, 100)).msgList) seen.push(text(m.msgData));
      for (const m of (await reads.msgById(IM.Message.IMGetMsgByIdReq.create({ userId: alice, sessionType: SINGLE, sessionId: peer, msgIdList: [1, 2, 3] }))).msgList) {
        seen.push(text(m.msgData));
      }
      await acks.readAck(IM.Message.IMMsgDataReadAck.create({ userId: alice, sessionId: peer, msgId: 99, sessionType: SINGLE }));
    }
    for (const u of (await reads.unreadCount(IM.Message.IMUnreadMsgCntReq.create({ userId: alice }))).unreadinfoList) seen.push(text(u.latestMsgData));
    for (const s of (await recent(alice)).contactSessionList) seen.push(text(s.latestMsgData));
    expect(seen).not.toContain('secret for carol');
    expect((await reads.latestMsgId(IM.Message.IMGetLatestMsgIdReq.create({ userId: alice, sessionType: SINGLE, sessionId: carol }))).latestMsgId).toBe(1);
    expect((await sessions.remove(IM.Buddy.IMRemoveSessionReq.create({ userId: alice, sessionType: SINGLE, sessionId: 999_999 }))).resultCode).toBe(1);
    // bob's and carol's sessions and carol's unread are untouched
    expect(await rows()).toEqual(sessionsBefore);
    expect(await fx.redis.hgetall(`unread_${carol}`)).toEqual(unreadBefore);
  });
});

describe('audio (docs/FLOWS.md §14 M9)', () => {
  it('returns duration + bytes in history and the encrypted "[语音]" in previews', async () => {
    const { carol, dave } = fx.ids;
    const sound = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256));
    const payload = Buffer.concat([Buffer.from([0, 0, 0, 12]), sound]);
    const out = await inst.store(carol, dave, payload, AUDIO);
    expect(out.result).toBe(0);

    const page = await list(dave, carol, 0, 1);
    expect(page.msgList[0]).toMatchObject({ msgId: out.msgId, msgType: AUDIO, fromSessionId: carol });
    expect(Buffer.compare(Buffer.from(page.msgList[0].msgData), payload)).toBe(0);
    const byId = await reads.msgById(IM.Message.IMGetMsgByIdReq.create({ userId: carol, sessionType: SINGLE, sessionId: dave, msgIdList: [out.msgId] }));
    expect(Buffer.compare(Buffer.from(byId.msgList[0].msgData), payload)).toBe(0);

    const expected = teamTalkEncrypt(AUDIO_PREVIEW_TEXT, AES_KEY);
    const unread = (await reads.unreadCount(IM.Message.IMUnreadMsgCntReq.create({ userId: dave }))).unreadinfoList.find((u) => u.sessionId === carol);
    expect(unread).toMatchObject({ latestMsgType: AUDIO, latestMsgId: out.msgId });
    expect(text(unread?.latestMsgData ?? new Uint8Array())).toBe(expected);
    expect(teamTalkDecrypt(expected, AES_KEY)).toBe('[语音]');
    const session = (await recent(carol)).contactSessionList.find((s) => s.sessionId === dave);
    expect(text(session?.latestMsgData ?? new Uint8Array())).toBe(expected);
  });

  it('matches TeamTalk\'s cipher for known plaintexts (padding rule of docs/PROTOCOL.md §5)', () => {
    for (const plain of ['', 'a', 'x'.repeat(12), 'x'.repeat(13), 'x'.repeat(16), '你好，TeamTalk']) {
      const cipher = teamTalkEncrypt(plain, AES_KEY);
      const bytes = Buffer.from(cipher, 'base64');
      const n = Buffer.byteLength(plain);
      const blocks = Math.ceil(n / 16) + (n % 16 === 0 || n % 16 > 12 ? 1 : 0);
      expect(bytes.length).toBe(blocks * 16);
      expect(teamTalkDecrypt(cipher, AES_KEY)).toBe(plain);
    }
    expect(teamTalkDecrypt('not base64 of blocks', AES_KEY)).toBeUndefined();
    // Computed independently (openssl aes-256-ecb -nopad over the padded block) with the default key.
    expect(teamTalkEncrypt('[语音]', AES_KEY)).toBe('QhGXlpFjvMFUNrtl1aaPzA==');
    expect(teamTalkEncrypt('hello', AES_KEY)).toBe('nnZSBwfPCz60q69ddmfIJA==');
  });
});

describe('recent sessions and the conversation index (docs/FLOWS.md §8)', () => {
  it('lists sessions newest first with their latest message, omits sessions without one, and filters by updated', async () => {
    const u = 5000;
    const [p1, p2, p3, empty] = [5001, 5002, 5003, 5004];
    await sendAll(p1, u, ['from p1']);
    await nextSecond();
    await sendAll(u, p2, ['to p2']);
    await nextSecond();
    await sendAll(p3, u, ['from p3']);
    // A session row without any message (e.g. created by TeamTalk, never used).
    await fx.pool.query('INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES (?, ?, 1, 0, ?, ?)', [
      u,
      empty,
      Math.floor(Date.now() / 1000) + 5,
      Math.floor(Date.now() / 1000) + 5,
    ]);
    await fx.redis.del(conversationKeys.conversations(u));

    const rsp = await recent(u);
    expect(rsp.userId).toBe(u);
    expect(rsp.contactSessionList.map((s) => [s.sessionId, s.sessionType, s.sessionStatus, s.latestMsgId, s.latestMsgFromUserId, text(s.latestMsgData)])).toEqual([
      [p3, SINGLE, 0, 1, p3, 'from p3'],
      [p2, SINGLE, 0, 1, p2, 'to p2'],
      [p1, SINGLE, 0, 1, p1, 'from p1'],
    ]);
    const times = rsp.contactSessionList.map((s) => s.updatedTime);
    expect(times[0]).toBeGreaterThan(times[1]);
    expect(times[1]).toBeGreaterThan(times[2]);
    const newer = await recent(u, times[1]);
    expect(newer.contactSessionList.map((s) => s.sessionId)).toEqual([p3]);
  });

  it('serves the list from the index and shows the same list after the sync db is flushed', async () => {
    const u = 5000;
    const first = await recent(u);
    const key = conversationKeys.conversations(u);
    expect(await fx.redis.zcard(key)).toBe(4); // the three sessions and the one without messages

    // The index answers: a change made behind its back (MySQL only) is not seen...
    await fx.pool.query('UPDATE IMRecentSession SET updated = updated + 100 WHERE userId = ? AND peerId = 5001', [u]);
    expect((await recent(u)).contactSessionList.map((s) => s.sessionId)).toEqual([5003, 5002, 5001]);
    await fx.pool.query('UPDATE IMRecentSession SET updated = updated - 100 WHERE userId = ? AND peerId = 5001', [u]);

    // ...and after FLUSHDB MySQL rebuilds it to the same list.
    await fx.redis.flushdb();
    expect(await recent(u)).toEqual(first);
    expect(await fx.redis.zcard(key)).toBe(4);
    expect(await recent(u)).toEqual(first);
  });

  it('moves a conversation to the top when a message arrives, in the index as in MySQL', async () => {
    const u = 5000;
    await nextSecond();
    await sendAll(u, 5001, ['back to p1']);
    const fromIndex = await recent(u);
    expect(fromIndex.contactSessionList.map((s) => s.sessionId)).toEqual([5001, 5003, 5002]);
    await fx.redis.del(conversationKeys.conversations(u));
    expect(await recent(u)).toEqual(fromIndex);
  });

  it('removes a session (status 1, unread cleared, no longer listed) and re-activates it with the next message', async () => {
    const u = 5000;
    await nextSecond();
    await sendAll(5003, u, ['one more']);
    expect(await fx.redis.hget(`unread_${u}`, '5003')).toBe('1');
    const removed = await sessions.remove(IM.Buddy.IMRemoveSessionReq.create({ userId: u, sessionType: SINGLE, sessionId: 5003 }));
    expect(removed).toMatchObject({ userId: u, resultCode: 0, sessionType: SINGLE, sessionId: 5003 });
    const [rows] = await fx.pool.query<RowDataPacket[]>('SELECT status FROM IMRecentSession WHERE userId = ? AND peerId = 5003', [u]);
    expect(rows.map((r) => Number(r.status))).toEqual([1]);
    expect(await fx.redis.hget(`unread_${u}`, '5003')).toBeNull();
    expect((await recent(u)).contactSessionList.map((s) => s.sessionId)).toEqual([5001, 5002]);
    // the peer's own session is untouched
    expect((await recent(5003)).contactSessionList.map((s) => s.sessionId)).toEqual([u]);
    // removing it again: no active session
    expect((await sessions.remove(IM.Buddy.IMRemoveSessionReq.create({ userId: u, sessionType: SINGLE, sessionId: 5003 }))).resultCode).toBe(1);

    await nextSecond();
    await sendAll(5003, u, ['are you there?']);
    expect((await recent(u)).contactSessionList.map((s) => s.sessionId)).toEqual([5003, 5001, 5002]);
  });

  it('answers correctly when the index is smaller than the page (TT_CONV_INDEX_LIMIT below 100)', async () => {
    const small = fx.instance({ convIndexLimit: 2 });
    const h = handlersOf(small);
    await fx.redis.del(conversationKeys.conversations(5000));
    const rsp = await h.sessions.list(IM.Buddy.IMRecentContactSessionReq.create({ userId: 5000, latestUpdateTime: 0 }));
    expect(rsp.contactSessionList.map((s) => s.sessionId)).toEqual([5003, 5001, 5002]);
    expect(await fx.redis.zcard(conversationKeys.conversations(5000))).toBe(2);
    await small.close();
  });

  it('keeps commits made during a rebuild and abandons a rebuild whose index was invalidated', async () => {
    const u = 5000;
    const index = inst.stores.conversations;
    const key = conversationKeys.conversations(u);
    await fx.redis.del(key);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    // A rebuild that read MySQL before the next commit.
    const building = index.rebuild(u, async (limit) => {
      const [rows] = await fx.pool.query<RowDataPacket[]>(
        'SELECT peerId, type, MAX(updated) AS updated FROM IMRecentSession WHERE userId = ? AND status = 0 GROUP BY type, peerId ORDER BY updated DESC LIMIT ?',
        [u, limit],
      );
      await gate;
      return rows.map((r) => ({ type: Number(r.type), peerId: Number(r.peerId), updated: Number(r.updated) }));
    });
    await new Promise((r) => setTimeout(r, 20));
    // While it is being rebuilt, readers get MySQL's answer.
    expect((await index.recent(u, 0, 100)).state).toBe('unusable');
    await nextSecond();
    await sendAll(5002, u, ['during rebuild']);
    release();
    expect(await building).toBe(true);
    const after = await index.recent(u, 0, 100);
    expect(after.state).toBe('ready');
    // (5004 is the message-less session dated in the future)
    if (after.state === 'ready') expect(after.entries.filter((e) => e.peerId !== 5004)[0]).toMatchObject({ type: SINGLE, peerId: 5002 });

    await fx.redis.del(key);
    let release2: () => void = () => undefined;
    const gate2 = new Promise<void>((r) => (release2 = r));
    const abandoned = index.rebuild(u, async () => {
      await gate2;
      return [{ type: SINGLE, peerId: 5003, updated: 1 }];
    });
    await new Promise((r) => setTimeout(r, 20));
    await index.invalidate(u);
    release2();
    expect(await abandoned).toBe(false);
    expect(await fx.redis.exists(key)).toBe(0);
  });
});

describe('groups (read side of docs/FLOWS.md §7, §8)', () => {
  it('counts group unread as total minus the member snapshot, pages from the join time, and refuses non-members', async () => {
    const { alice, bob, dave } = fx.ids;
    const gid = 77;
    const now = Math.floor(Date.now() / 1000);
    await fx.pool.query('INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES (?, ?, 0, ?, ?), (?, ?, 0, ?, ?)', [
      gid,
      alice,
      now - 100,
      now,
      gid,
      bob,
      now - 10,
      now,
    ]);
    await fx.redis.hset(`group_member_${gid}`, String(alice), String(now - 100), String(bob), String(now - 10));
    await fx.pool.query(
      `INSERT INTO IMGroupMessage_${gid % 8} (groupId, userId, msgId, content, type, status, created, updated) VALUES (?, ?, 1, 'old', 17, 0, ?, ?), (?, ?, 2, 'new', 17, 0, ?, ?)`,
      [gid, alice, now - 50, now - 50, gid, bob, now, now],
    );
    await fx.redis.hset(groupCounterKeys.groupTotal(gid), 'count', '2');
    await fx.redis.hset(groupCounterKeys.userRead(bob, gid), 'count', '1');

    const unread = await reads.unreadCount(IM.Message.IMUnreadMsgCntReq.create({ userId: alice }));
    expect(unread.unreadinfoList.find((e) => e.sessionType === GROUP)).toMatchObject({ sessionId: gid, unreadCnt: 2, latestMsgId: 2, latestMsgFromUserId: bob });
    const bobUnread = await reads.unreadCount(IM.Message.IMUnreadMsgCntReq.create({ userId: bob }));
    expect(bobUnread.unreadinfoList.find((e) => e.sessionType === GROUP)?.unreadCnt).toBe(1);

    const groupPage = (userId: number) =>
      reads.msgList(IM.Message.IMGetMsgListReq.create({ userId, sessionType: GROUP, sessionId: gid, msgIdBegin: 0, msgCnt: 10 }));
    expect((await groupPage(alice)).msgList.map((m) => m.msgId)).toEqual([2, 1]);
    expect((await groupPage(bob)).msgList.map((m) => m.msgId)).toEqual([2]); // joined after message 1
    expect((await groupPage(dave)).msgList).toEqual([]);
    expect((await reads.latestMsgId(IM.Message.IMGetLatestMsgIdReq.create({ userId: dave, sessionType: GROUP, sessionId: gid }))).latestMsgId).toBe(0);

    await acks.readAck(IM.Message.IMMsgDataReadAck.create({ userId: alice, sessionId: gid, msgId: 2, sessionType: GROUP }));
    expect(await fx.redis.hget(groupCounterKeys.userRead(alice, gid), 'count')).toBe('2');
    const cleared = await reads.unreadCount(IM.Message.IMUnreadMsgCntReq.create({ userId: alice }));
    expect(cleared.unreadinfoList.find((e) => e.sessionType === GROUP)).toBeUndefined();
    // a non-member's ack writes nothing
    await acks.readAck(IM.Message.IMMsgDataReadAck.create({ userId: dave, sessionId: gid, msgId: 2, sessionType: GROUP }));
    expect(await fx.redis.exists(groupCounterKeys.userRead(dave, gid))).toBe(0);
  });
});
