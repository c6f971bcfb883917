// Presence across two gateways (docs/FLOWS.md §5, docs/FLOWS.md §14 P1–P5): what PC and
// mobile clients of TeamTalk see when users come and go, and the status query.
import type { TeamTalkClient } from '@tiertalk/client';
import { CID, IM } from '@tiertalk/proto';
import { ANDROID, MAC, PC, closedWithin } from './helpers';
import { expectNothingBefore, pushOf, sendTextMarker } from './absence';
import { e2eSuite } from './suite';
import { waitFor } from '@tiertalk/testkit';

jest.setTimeout(60_000);

const { USER_STATUS_ONLINE, USER_STATUS_OFFLINE } = IM.BaseDefine.UserStatType;
const IOS = IM.BaseDefine.ClientType.CLIENT_TYPE_IOS;
const STATUS = CID.CID_BUDDY_LIST_STATUS_NOTIFY;
const PC_LOGIN = CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY;
const decodeStatus = (b: Uint8Array): IM.BaseDefine.UserStat.$Properties => {
  const stat = IM.Buddy.IMUserStatNotify.decode(b).userStat;
  if (!stat) throw new Error('IMUserStatNotify without user_stat');
  return stat;
};
const decodePcLogin = (b: Uint8Array): IM.Buddy.IMPCLoginStatusNotify => IM.Buddy.IMPCLoginStatusNotify.decode(b);

const suite = e2eSuite('presence', { dbProxy: 1, route: 1, msg: 2 });
const { ids } = suite;
const session = suite.session;
const gw1 = () => suite.gateway(0);
const gw2 = () => suite.gateway(1);

/** Resolves once route's registry holds exactly `count` sessions of the user (a logout was applied, its presence queued). */
async function waitRegistered(userId: number, count: number): Promise<void> {
  await waitFor(async () => Object.keys(await suite.registeredSessions(userId)).length === count, 5000, {
    what: `${count} sessions of user ${userId} in route's registry`,
  });
}

async function usersStat(client: TeamTalkClient, list: number[], claimedUserId = 0): Promise<IM.Buddy.IMUsersStatRsp & { seq: number }> {
  let seq = 0;
  const onPdu = (p: { commandId: number; seqNum: number }): void => {
    if (p.commandId === CID.CID_BUDDY_LIST_USERS_STATUS_RESPONSE) seq = p.seqNum;
  };
  client.on('pdu', onPdu);
  try {
    const rsp = await client.request(
      CID.CID_BUDDY_LIST_USERS_STATUS_REQUEST,
      IM.Buddy.IMUsersStatReq.encode({ userId: claimedUserId, userIdList: list }).finish(),
      CID.CID_BUDDY_LIST_USERS_STATUS_RESPONSE,
      (b) => IM.Buddy.IMUsersStatRsp.decode(b),
    );
    return Object.assign(rsp, { seq });
  } finally {
    client.off('pdu', onPdu);
  }
}

describe('buddy presence for PC clients (0x0203)', () => {
  it('a PC login on gateway 2 is ONLINE on PC connections of gateway 1, OFFLINE when it leaves; mobiles never hear it', async () => {
    const alicePc = await session(gw1(), 'alice', PC);
    const carolPhone = await session(gw1(), 'carol', ANDROID);
    const davePhone = await session(gw2(), 'dave', IOS);

    const bobPc = await session(gw2(), 'bob', PC);
    const online = await alicePc.log.next(STATUS, decodeStatus, (s) => s.userId === ids.bob);
    expect(online.status).toBe(USER_STATUS_ONLINE);
    // The new PC hears its own ONLINE too, after its login response (as from TeamTalk's route).
    const own = await bobPc.log.next(STATUS, decodeStatus, (s) => s.userId === ids.bob);
    expect(own.status).toBe(USER_STATUS_ONLINE);
    expect(own.index).toBeGreaterThan(bobPc.log.indexOf(CID.CID_LOGIN_RES_USERLOGIN));

    // A mobile login and logout of bob: no 0x0203 anywhere (P3).
    const aliceMark = alicePc.log.mark;
    const bobPhone = await session(gw1(), 'bob', ANDROID);
    await bobPhone.client.logout();
    await waitRegistered(ids.bob, 1);
    await expectNothingBefore(alicePc.log, await sendTextMarker(bobPc.client, ids.alice), pushOf(STATUS), aliceMark);

    await bobPc.client.logout();
    const offline = await alicePc.log.next(STATUS, decodeStatus, (s) => s.userId === ids.bob && s.status === USER_STATUS_OFFLINE);
    expect(offline.status).toBe(USER_STATUS_OFFLINE);

    // Mobile connections never receive 0x0203, whoever comes or goes (route flushed
    // that OFFLINE to every gateway at once, ahead of the markers).
    await expectNothingBefore(carolPhone.log, await sendTextMarker(alicePc.client, ids.carol), pushOf(STATUS));
    await expectNothingBefore(davePhone.log, await sendTextMarker(alicePc.client, ids.dave), pushOf(STATUS));
  });

  it('no OFFLINE while another PC client of the user remains; OFFLINE when the last one goes', async () => {
    const alicePc = await session(gw1(), 'alice', PC);
    const bobWin = await session(gw1(), 'bob', PC);
    await alicePc.log.next(STATUS, decodeStatus, (s) => s.userId === ids.bob);

    // A Mac login on the other gateway displaces the Windows client, which then goes away.
    const mark = alicePc.log.mark;
    const bobMac = await session(gw2(), 'bob', MAC);
    expect(await closedWithin(bobWin.client, 3000)).toBe(true);
    // route applied the displaced client's logout (which must not say OFFLINE): the Mac is all that is left.
    await waitRegistered(ids.bob, 1);
    await alicePc.log.waitFor(await sendTextMarker(bobMac.client, ids.alice));
    const meanwhile = alicePc.log.all.slice(mark).filter((r) => r.commandId === STATUS).map((r) => decodeStatus(r.body));
    expect(meanwhile.filter((s) => s.userId === ids.bob && s.status === USER_STATUS_OFFLINE)).toEqual([]);
    // (TeamTalk's route announces every PC login, the displacing one included.)
    expect(meanwhile.filter((s) => s.userId === ids.bob && s.status === USER_STATUS_ONLINE)).toHaveLength(1);

    bobMac.client.close();
    const offline = await alicePc.log.next(STATUS, decodeStatus, (s) => s.userId === ids.bob && s.status === USER_STATUS_OFFLINE, 5000, mark);
    expect(offline.userId).toBe(ids.bob);
  });
});

describe('PC login status for mobiles (0x020e)', () => {
  it('the mobile hears ONLINE when the user\'s PC logs in on another gateway and OFFLINE when it leaves', async () => {
    const bobPhone = await session(gw1(), 'bob', ANDROID);
    // No PC online: nothing for the new mobile (route would have sent it while logging bob in).
    const alicePhone = await session(gw2(), 'alice', ANDROID);
    await expectNothingBefore(bobPhone.log, await sendTextMarker(alicePhone.client, ids.bob), pushOf(PC_LOGIN));

    const bobPc = await session(gw2(), 'bob', PC);
    const on = await bobPhone.log.next(PC_LOGIN, decodePcLogin);
    expect(on).toMatchObject({ userId: ids.bob, loginStat: USER_STATUS_ONLINE });
    // The PC itself is not told about its own PC login status.
    expect(bobPc.log.of(PC_LOGIN, decodePcLogin)).toEqual([]);

    const mark = bobPhone.log.mark;
    bobPc.client.close();
    const off = await bobPhone.log.next(PC_LOGIN, decodePcLogin, () => true, 5000, mark);
    expect(off).toMatchObject({ userId: ids.bob, loginStat: USER_STATUS_OFFLINE });
  });

  it('a mobile logging in while the user\'s PC is online hears ONLINE after its login response', async () => {
    const bobPc = await session(gw1(), 'bob', PC);
    const bobIphone = await session(gw2(), 'bob', IOS);
    const on = await bobIphone.log.next(PC_LOGIN, decodePcLogin);
    expect(on).toMatchObject({ userId: ids.bob, loginStat: USER_STATUS_ONLINE });
    expect(on.index).toBeGreaterThan(bobIphone.log.indexOf(CID.CID_LOGIN_RES_USERLOGIN));
    // Both logins were applied by route before their responses: a later message orders after any second notify.
    const alicePhone = await session(gw1(), 'alice', ANDROID);
    const marker = await sendTextMarker(alicePhone.client, ids.bob);
    await expectNothingBefore(bobIphone.log, marker, pushOf(PC_LOGIN), on.index + 1);
    await expectNothingBefore(bobPc.log, marker, pushOf(PC_LOGIN));
  });
});

describe('status query (0x020a → 0x020b)', () => {
  it('answers one status per id in request order, ONLINE only for users with a PC client, with the request seq', async () => {
    const alicePc = await session(gw1(), 'alice', PC);
    await session(gw2(), 'bob', MAC);
    await session(gw1(), 'carol', ANDROID);
    // dave is offline; 4_000_000_000 does not exist
    const list = [ids.dave, ids.bob, ids.carol, ids.alice, 4_000_000_000, ids.bob];
    // The user_id the client claims is replaced by its own.
    const rsp = await usersStat(alicePc.client, list, ids.dave);
    expect(rsp.seq).toBeGreaterThan(0);
    expect(rsp.userId).toBe(ids.alice);
    expect(rsp.userStatList.map((s) => [s.userId, s.status])).toEqual([
      [ids.dave, USER_STATUS_OFFLINE],
      [ids.bob, USER_STATUS_ONLINE],
      [ids.carol, USER_STATUS_OFFLINE],
      [ids.alice, USER_STATUS_ONLINE],
      [4_000_000_000, USER_STATUS_OFFLINE],
      [ids.bob, USER_STATUS_ONLINE],
    ]);
    expect(Object.hasOwn(rsp, 'attachData')).toBe(false);
    expect((await usersStat(alicePc.client, [])).userStatList).toEqual([]);
  });

  it('refuses an oversized list by closing the connection (the response has no result code; docs/SECURITY.md)', async () => {
    const alicePc = await session(gw2(), 'alice', PC);
    const huge = Array.from({ length: 10_001 }, (_, i) => i + 1);
    await expect(
      alicePc.client.request(
        CID.CID_BUDDY_LIST_USERS_STATUS_REQUEST,
        IM.Buddy.IMUsersStatReq.encode({ userId: 0, userIdList: huge }).finish(),
        CID.CID_BUDDY_LIST_USERS_STATUS_RESPONSE,
        (b) => IM.Buddy.IMUsersStatRsp.decode(b),
        { timeoutMs: 5000 },
      ),
    ).rejects.toMatchObject({ code: 'CLOSED' });
    // A fresh session of the same user is served.
    const again = await session(gw2(), 'alice', PC);
    expect((await usersStat(again.client, [ids.alice])).userStatList[0].status).toBe(USER_STATUS_ONLINE);
  });
});
