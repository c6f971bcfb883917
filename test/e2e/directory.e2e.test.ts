// Users, departments and profile changes over TCP (docs/FLOWS.md §9; docs/FLOWS.md §14
// U1–U6): one cluster with two gateways, clients speaking TeamTalk's wire.
import type { RowDataPacket } from 'mysql2/promise';
import type { TeamTalkClient } from '@tiertalk/client';
import { CID, IM } from '@tiertalk/proto';
import { waitFor, type GatewayInfo } from '@tiertalk/testkit';
import { ANDROID, PC } from './helpers';
import { textMarkerArrives } from './absence';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const suite = e2eSuite('directory', { dbProxy: 1, route: 1, msg: 2 });
const { ids } = suite;
const gw1 = (): GatewayInfo => suite.gateway(0);
const gw2 = (): GatewayInfo => suite.gateway(1);

/** Server-initiated PDUs (seq 0) of one command a client receives from now on. */
function pushesOf<T>(c: TeamTalkClient, commandId: number, decode: (b: Uint8Array) => T): T[] {
  const got: T[] = [];
  c.on('pdu', (p) => {
    if (p.commandId === commandId && p.seqNum === 0) got.push(decode(p.body));
  });
  return got;
}

function usersInfo(c: TeamTalkClient, userIdList: number[], claimedUserId = 0): Promise<IM.Buddy.IMUsersInfoRsp> {
  return c.request(
    CID.CID_BUDDY_LIST_USER_INFO_REQUEST,
    IM.Buddy.IMUsersInfoReq.encode({ userId: claimedUserId, userIdList }).finish(),
    CID.CID_BUDDY_LIST_USER_INFO_RESPONSE,
    (b) => IM.Buddy.IMUsersInfoRsp.decode(b),
  );
}

function allUsers(c: TeamTalkClient, latestUpdateTime: number): Promise<IM.Buddy.IMAllUserRsp> {
  return c.request(
    CID.CID_BUDDY_LIST_ALL_USER_REQUEST,
    IM.Buddy.IMAllUserReq.encode({ userId: 0, latestUpdateTime }).finish(),
    CID.CID_BUDDY_LIST_ALL_USER_RESPONSE,
    (b) => IM.Buddy.IMAllUserRsp.decode(b),
  );
}

function departments(c: TeamTalkClient, latestUpdateTime: number): Promise<IM.Buddy.IMDepartmentRsp> {
  return c.request(
    CID.CID_BUDDY_LIST_DEPARTMENT_REQUEST,
    IM.Buddy.IMDepartmentReq.encode({ userId: 0, latestUpdateTime }).finish(),
    CID.CID_BUDDY_LIST_DEPARTMENT_RESPONSE,
    (b) => IM.Buddy.IMDepartmentRsp.decode(b),
  );
}

function changeSignInfo(c: TeamTalkClient, signInfo: string): Promise<IM.Buddy.IMChangeSignInfoRsp> {
  return c.request(
    CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST,
    IM.Buddy.IMChangeSignInfoReq.encode({ userId: 0, signInfo }).finish(),
    CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE,
    (b) => IM.Buddy.IMChangeSignInfoRsp.decode(b),
  );
}

function changeAvatar(c: TeamTalkClient, avatarUrl: string): Promise<IM.Buddy.IMChangeAvatarRsp> {
  return c.request(
    CID.CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST,
    IM.Buddy.IMChangeAvatarReq.encode({ userId: 0, avatarUrl }).finish(),
    CID.CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE,
    (b) => IM.Buddy.IMChangeAvatarRsp.decode(b),
  );
}

async function column(name: string, col: 'sign_info' | 'avatar'): Promise<string> {
  const [rows] = await suite.pool.query<RowDataPacket[]>(`SELECT ${col} AS v FROM IMUser WHERE name = ?`, [name]);
  return String(rows[0].v);
}

async function userCount(): Promise<number> {
  const [rows] = await suite.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMUser');
  return Number(rows[0].n);
}

const HOSTILE = ["x'; DROP TABLE IMUser; --", "' OR '1'='1", 'a\\"b`c', 'nul\u0000byte', '<img src=x onerror=alert(1)> 😀'];

beforeAll(async () => {
  // A known directory: everyone last changed at t=1000, dave has left.
  await suite.pool.query('UPDATE IMUser SET updated = 1000');
  await suite.pool.query('UPDATE IMUser SET status = 3 WHERE name = ?', ['dave']);
  await suite.pool.query('UPDATE IMDepart SET updated = 1000');
});

describe('user directory', () => {
  it('answers user info for known ids, skips unknown ones, whatever user_id the client claims (U1)', async () => {
    const alice = await suite.loggedIn(gw1(), 'alice');
    const rsp = await usersInfo(alice, [ids.bob, 987654, ids.carol, ids.dave], ids.bob);
    expect(rsp.userId).toBe(ids.alice);
    const byId = new Map(rsp.userInfoList.map((u) => [u.userId, u]));
    expect([...byId.keys()].sort((a, b) => a - b)).toEqual([ids.bob, ids.carol, ids.dave].sort((a, b) => a - b));
    expect(byId.get(ids.bob)).toMatchObject({ userRealName: 'bob', userNickName: 'Bob', userGender: 1, email: 'bob@tiertalk.local' });
    expect(byId.get(ids.dave)?.status).toBe(3);
  });

  it('lists every user who has not left (t = 0) with a high-water mark, then only changes (U2, U3)', async () => {
    const bob = await suite.loggedIn(gw2(), 'bob', ANDROID);
    const full = await allUsers(bob, 0);
    expect(full.userId).toBe(ids.bob);
    // `system`: the send API's system sender (migration 0011, docs/HTTP-API.md), listed so clients can name it.
    expect(full.userList.map((u) => u.userRealName).sort()).toEqual(['alice', 'bob', 'carol', 'system']);
    expect(full.latestUpdateTime).toBe(1000);

    // Nothing changed since the high-water mark + 1: an empty list and the same mark back.
    const none = await allUsers(bob, 1001);
    expect(none).toMatchObject({ userList: [], latestUpdateTime: 1001 });

    // carol is edited, dave's departure is recorded: both come incrementally, dave with status 3.
    await suite.pool.query('UPDATE IMUser SET nick = ?, updated = 2000 WHERE name = ?', ['Caroline', 'carol']);
    await suite.pool.query('UPDATE IMUser SET updated = 2100 WHERE name = ?', ['dave']);
    const changed = await allUsers(bob, 1001);
    const byName = new Map(changed.userList.map((u) => [u.userRealName, u]));
    expect([...byName.keys()].sort()).toEqual(['carol', 'dave']);
    expect(byName.get('carol')?.userNickName).toBe('Caroline');
    expect(byName.get('dave')?.status).toBe(3);
    expect(changed.latestUpdateTime).toBe(2100);
  });

  it('lists departments changed since a time with a high-water mark (U4)', async () => {
    await suite.pool.query(
      "INSERT INTO IMDepart (departName, priority, parentId, status, created, updated) VALUES ('R&D', 5, 1, 0, 3000, 3000), ('Closed', 9, 1, 1, 3300, 3300)",
    );
    const carol = await suite.loggedIn(gw1(), 'carol');
    const all = await departments(carol, 0);
    expect(all.deptList.map((d) => d.deptName)).toEqual(['Demo', 'R&D', 'Closed']);
    expect(all.latestUpdateTime).toBe(3300);
    const since = await departments(carol, 3000);
    expect(since.deptList).toEqual([expect.objectContaining({ deptName: 'Closed', priority: 9, parentDeptId: 1, deptStatus: 1 })]);
    expect(await departments(carol, 3300)).toMatchObject({ deptList: [], latestUpdateTime: 3300 });
  });
});

describe('signature (U5)', () => {
  it('answers the changer and notifies every logged-in connection, PC and mobile, on both gateways', async () => {
    const alicePc = await suite.loggedIn(gw1(), 'alice', PC);
    const aliceMobile = await suite.loggedIn(gw2(), 'alice', ANDROID);
    const bobPc = await suite.loggedIn(gw2(), 'bob', PC);
    const carolMobile = await suite.loggedIn(gw1(), 'carol', ANDROID);
    const everyone = [alicePc, aliceMobile, bobPc, carolMobile];
    const notified = everyone.map((c) => pushesOf(c, CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, (b) => IM.Buddy.IMSignInfoChangedNotify.decode(b)));

    const before = Math.floor(Date.now() / 1000);
    const rsp = await changeSignInfo(alicePc, 'out of office ✈');
    expect(rsp).toMatchObject({ userId: ids.alice, resultCode: 0 });
    await waitFor(() => notified.every((n) => n.length === 1), 5000);
    for (const n of notified) expect(n[0]).toMatchObject({ changedUserId: ids.alice, signInfo: 'out of office ✈' });
    expect(await column('alice', 'sign_info')).toBe('out of office ✈');

    // The change shows up in everyone's next incremental directory sync.
    const sync = await allUsers(bobPc, before);
    expect(sync.userList.find((u) => u.userId === ids.alice)?.signInfo).toBe('out of office ✈');

    // > 128 bytes: result 1, nothing stored, nobody notified.
    const tooLong = await changeSignInfo(aliceMobile, '签'.repeat(43));
    expect(tooLong.resultCode).toBe(1);
    // A notify would have been handed to route by the changer's gateway (gw2) before its answer:
    // later messages from that gateway reach every connection after it.
    await textMarkerArrives(aliceMobile, ids.bob, bobPc);
    await textMarkerArrives(aliceMobile, ids.bob, alicePc);
    await textMarkerArrives(aliceMobile, ids.carol, carolMobile);
    await textMarkerArrives(bobPc, ids.alice, aliceMobile);
    for (const n of notified) expect(n).toHaveLength(1);
    expect(await column('alice', 'sign_info')).toBe('out of office ✈');
  });

  it('stores hostile signatures verbatim and notifies them verbatim', async () => {
    const bob = await suite.loggedIn(gw2(), 'bob');
    const carol = await suite.loggedIn(gw1(), 'carol');
    const seen = pushesOf(carol, CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, (b) => IM.Buddy.IMSignInfoChangedNotify.decode(b));
    const count = await userCount();
    for (const sign of HOSTILE) {
      expect((await changeSignInfo(bob, sign)).resultCode).toBe(0);
      expect(await column('bob', 'sign_info')).toBe(sign);
    }
    await waitFor(() => seen.length === HOSTILE.length, 5000);
    expect(seen.map((n) => n.signInfo)).toEqual(HOSTILE);
    expect(await userCount()).toBe(count);
    const info = await usersInfo(carol, [ids.bob]);
    expect(info.userInfoList[0].signInfo).toBe(HOSTILE[HOSTILE.length - 1]);
  });
});

describe('avatar (U6, implemented)', () => {
  it("stores the URL and answers all the user's connections, the requester with its seq_num", async () => {
    const alicePc = await suite.loggedIn(gw1(), 'alice', PC);
    const aliceMobile = await suite.loggedIn(gw2(), 'alice', ANDROID);
    const bob = await suite.loggedIn(gw1(), 'bob');
    const alicePcPushes = pushesOf(alicePc, CID.CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE, (b) => IM.Buddy.IMChangeAvatarRsp.decode(b));
    const toOtherDevice = pushesOf(aliceMobile, CID.CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE, (b) => IM.Buddy.IMChangeAvatarRsp.decode(b));
    const toBob = pushesOf(bob, CID.CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE, (b) => IM.Buddy.IMChangeAvatarRsp.decode(b));

    const url = 'https://cdn.example.com/u/alice.png?v=2&size=128';
    expect(await changeAvatar(alicePc, url)).toMatchObject({ userId: ids.alice, resultCode: 0 });
    await waitFor(() => toOtherDevice.length === 1, 5000);
    expect(toOtherDevice[0]).toMatchObject({ userId: ids.alice, resultCode: 0 });
    expect(await column('alice', 'avatar')).toBe(url);
    expect((await usersInfo(bob, [ids.alice])).userInfoList[0].avatarUrl).toBe(url);

    // Longer than the column: result 1, the old URL stays.
    expect((await changeAvatar(alicePc, `https://x/${'a'.repeat(300)}`)).resultCode).toBe(1);
    await waitFor(() => toOtherDevice.length === 2, 5000);
    expect(toOtherDevice[1].resultCode).toBe(1);
    expect(await column('alice', 'avatar')).toBe(url);

    // Hostile URLs are stored as given.
    for (const hostile of HOSTILE) {
      expect((await changeAvatar(aliceMobile, hostile)).resultCode).toBe(0);
      expect(await column('alice', 'avatar')).toBe(hostile);
    }
    // Sent after the last change by the same connection: each copy to alicePc or bob would come first.
    await textMarkerArrives(aliceMobile, ids.bob, alicePc);
    await textMarkerArrives(aliceMobile, ids.bob, bob);
    expect(alicePcPushes).toHaveLength(HOSTILE.length);
    expect(toBob).toHaveLength(0);
  });
});
