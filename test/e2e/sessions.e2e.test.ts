// Recent sessions (docs/FLOWS.md §8, docs/FLOWS.md §14 S1, S2, S4, S5) and their
// conversation index in the sync Redis, over TCP against a real cluster.
import Redis from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { isClientError, SessionType, TeamTalkClient } from '@tiertalk/client';
import { CID, IM } from '@tiertalk/proto';
import { GatewayInfo } from '@tiertalk/testkit';
import { ANDROID, PC } from './helpers';
import { signInfoMarkerArrives } from './absence';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const SINGLE = SessionType.SESSION_TYPE_SINGLE;
const GROUP = SessionType.SESSION_TYPE_GROUP;

const suite = e2eSuite('sessions', { dbProxy: 1, route: 1, msg: 2 });
const gw1 = (): GatewayInfo => suite.gateway(0);
const gw2 = (): GatewayInfo => suite.gateway(1);

const newUser = suite.newUser;

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
// Session times have one-second resolution; distinct times need distinct seconds.
const nextSecond = (): Promise<void> => new Promise((r) => setTimeout(r, 1050 - (Date.now() % 1000)));

function pdus(c: TeamTalkClient, commandId: number): Uint8Array[] {
  const got: Uint8Array[] = [];
  c.on('pdu', (p) => {
    if (p.commandId === commandId) got.push(p.body);
  });
  return got;
}

describe('recent sessions', () => {
  let owner: { name: string; id: number };
  let peers: Array<{ name: string; id: number }>;
  let silent: { name: string; id: number };

  beforeAll(async () => {
    owner = await newUser('rs_o');
    peers = [await newUser('rs_p'), await newUser('rs_p'), await newUser('rs_p')];
    silent = await newUser('rs_silent');
  });

  it('lists sessions newest first with the latest message of each, for both users of a message (S1, S2)', async () => {
    const me = await suite.loggedIn(gw1(), owner.name);
    const [p1, p2, p3] = await Promise.all(peers.map((p, i) => suite.loggedIn(i % 2 === 0 ? gw2() : gw1(), p.name)));
    await p1.sendText(owner.id, 'from p1');
    await nextSecond();
    await me.sendText(peers[1].id, 'to p2');
    await nextSecond();
    await p3.sendText(owner.id, 'from p3');

    const rsp = await me.recentSessions(0);
    expect(rsp.userId).toBe(owner.id);
    expect(rsp.contactSessionList.map((s) => [s.sessionId, s.sessionType, s.sessionStatus, s.latestMsgId, text(s.latestMsgData), s.latestMsgFromUserId])).toEqual([
      [peers[2].id, SINGLE, 0, 1, 'from p3', peers[2].id],
      [peers[1].id, SINGLE, 0, 1, 'to p2', peers[1].id],
      [peers[0].id, SINGLE, 0, 1, 'from p1', peers[0].id],
    ]);
    const times = rsp.contactSessionList.map((s) => s.updatedTime);
    expect(times[0]).toBeGreaterThan(times[1]);
    expect(times[1]).toBeGreaterThan(times[2]);
    // only sessions updated after the given time
    expect((await me.recentSessions(times[1])).contactSessionList.map((s) => s.sessionId)).toEqual([peers[2].id]);
    // the receiving side has the session too
    expect((await p2.recentSessions()).contactSessionList.map((s) => [s.sessionId, text(s.latestMsgData)])).toEqual([[owner.id, 'to p2']]);

    // A new message moves its session to the top.
    await nextSecond();
    await me.sendText(peers[0].id, 'back to p1');
    expect((await me.recentSessions()).contactSessionList.map((s) => s.sessionId)).toEqual([peers[0].id, peers[2].id, peers[1].id]);
  });

  it('shows the same list after the sync Redis db is flushed (the index is rebuilt from MySQL)', async () => {
    const me = await suite.loggedIn(gw2(), owner.name);
    const before = await me.recentSessions();
    expect(before.contactSessionList).toHaveLength(3);
    const redis = new Redis(suite.redisUrls.dbProxy);
    try {
      expect(await redis.zcard(`tt_conv_{${owner.id}}`)).toBe(3);
      // db-proxy's sync instance is this db in the test cluster.
      await redis.flushdb();
      expect(await redis.exists(`tt_conv_{${owner.id}}`)).toBe(0);
      expect(await me.recentSessions()).toEqual(before);
      expect(await redis.zcard(`tt_conv_{${owner.id}}`)).toBe(3);
      expect(await me.recentSessions()).toEqual(before);
    } finally {
      redis.disconnect();
    }
  });

  it('omits a session without any message', async () => {
    const me = await suite.loggedIn(gw1(), owner.name);
    const later = Math.floor(Date.now() / 1000) + 3600;
    await suite.pool.query('INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES (?, ?, 1, 0, ?, ?)', [owner.id, silent.id, later, later]);
    const redis = new Redis(suite.redisUrls.dbProxy);
    await redis.del(`tt_conv_{${owner.id}}`);
    redis.disconnect();
    const ids = (await me.recentSessions()).contactSessionList.map((s) => s.sessionId);
    expect(ids).toHaveLength(3);
    expect(ids).not.toContain(silent.id);
  });
});

describe('removing a session (S4, S5)', () => {
  it('answers result 0, notifies the user\'s other devices on every gateway, drops it from the list and clears its unread', async () => {
    const u = await newUser('rm_u');
    const p = await newUser('rm_p');
    const q = await newUser('rm_q');
    const peer = await suite.loggedIn(gw1(), p.name);
    const other = await suite.loggedIn(gw1(), q.name);
    await peer.sendText(u.id, 'unread one');
    await peer.sendText(u.id, 'unread two');
    await other.sendText(u.id, 'keep me');

    const pc = await suite.loggedIn(gw1(), u.name, PC);
    const phone = await suite.loggedIn(gw2(), u.name, ANDROID);
    const atPc = pdus(pc, CID.CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY);
    const notified = new Promise<IM.Buddy.IMRemoveSessionNotify>((resolve) => phone.once('removeSessionNotify', resolve));
    expect((await pc.unreadCounts()).totalCnt).toBe(3);

    const rsp = await pc.removeSession(SINGLE, p.id);
    expect(rsp).toMatchObject({ userId: u.id, resultCode: 0, sessionType: SINGLE, sessionId: p.id });
    expect(await notified).toMatchObject({ userId: u.id, sessionType: SINGLE, sessionId: p.id });
    // Routed (the phone has it): a later broadcast reaches the PC after any copy of it.
    await signInfoMarkerArrives(phone, pc);
    expect(atPc).toHaveLength(0);

    expect((await phone.recentSessions()).contactSessionList.map((s) => s.sessionId)).toEqual([q.id]);
    const unread = await phone.unreadCounts();
    expect(unread.unreadinfoList.map((x) => [x.sessionId, x.unreadCnt])).toEqual([[q.id, 1]]);
    const [rows] = await suite.pool.query<RowDataPacket[]>('SELECT status FROM IMRecentSession WHERE userId = ? AND peerId = ?', [u.id, p.id]);
    expect(rows.map((r) => Number(r.status))).toEqual([1]);
    // the peer keeps its side, and the history stays readable
    expect((await peer.recentSessions()).contactSessionList.map((s) => s.sessionId)).toEqual([u.id]);
    expect((await pc.messageList(SINGLE, p.id, 0, 10)).msgList).toHaveLength(2);

    // Removing it again: there is no active session (result 1, refused by the SDK).
    const again = await pc.removeSession(SINGLE, p.id).then(
      () => 'removed',
      (err: unknown) => (isClientError(err) ? err.code : String(err)),
    );
    expect(again).toBe('REQUEST_REFUSED');

    // The next message re-activates it.
    await nextSecond();
    await peer.sendText(u.id, 'I am back');
    expect((await phone.recentSessions()).contactSessionList.map((s) => s.sessionId)).toEqual([p.id, q.id]);
  });

  it('does not notify other devices when a group session is removed', async () => {
    const u = await newUser('rm_g');
    const pc = await suite.loggedIn(gw1(), u.name, PC);
    const phone = await suite.loggedIn(gw2(), u.name, ANDROID);
    const atPhone = pdus(phone, CID.CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY);
    const now = Math.floor(Date.now() / 1000);
    await suite.pool.query('INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES (?, 901, 2, 0, ?, ?)', [u.id, now, now]);
    const rsp = await pc.removeSession(GROUP, 901);
    expect(rsp).toMatchObject({ resultCode: 0, sessionType: GROUP, sessionId: 901 });
    // A notify is handed to route before the answer; a later broadcast from the same connection follows it.
    await signInfoMarkerArrives(pc, phone);
    expect(atPhone).toHaveLength(0);
  });
});
