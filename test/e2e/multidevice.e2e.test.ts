// One user on several devices across two gateways: kick policies (docs/FLOWS.md §2,
// §11, docs/FLOWS.md §14 L9–L12), P2P commands (M10) and the message rate limit
// (docs/FLOWS.md §3, H3).
import { isClientError } from '@tiertalk/client';
import { CID, IM } from '@tiertalk/proto';
import { ANDROID, MAC, PC, closedWithin, storedMessages } from './helpers';
import { expectNothingBefore, pushOf, sendTextMarker } from './absence';
import { sleep } from './pushes';
import { e2eSuite, type Session } from './suite';
import { waitFor } from '@tiertalk/testkit';

jest.setTimeout(60_000);

const IOS = IM.BaseDefine.ClientType.CLIENT_TYPE_IOS;
const { KICK_REASON_DUPLICATE_USER, KICK_REASON_MOBILE_KICK } = IM.BaseDefine.KickReasonType;
const KICK = CID.CID_LOGIN_KICK_USER;
const P2P = CID.CID_SWITCH_P2P_CMD;
const decodeKick = (b: Uint8Array): IM.Login.IMKickUser => IM.Login.IMKickUser.decode(b);
const decodeP2P = (b: Uint8Array): IM.SwitchService.IMP2PCmdMsg => IM.SwitchService.IMP2PCmdMsg.decode(b);

const suite = e2eSuite('multidevice', { dbProxy: 1, route: 1, msg: 2 });
const { ids } = suite;
const session = suite.session;
const gw1 = () => suite.gateway(0);
const gw2 = () => suite.gateway(1);

const KICK_PC_RES = CID.CID_LOGIN_RES_KICKPCCLIENT;

/** Sends IMKickPCClientReq with a chosen seq; returns where the session's log stood before it. */
function sendKickPcClient(s: Session, seq: number): number {
  const mark = s.log.mark;
  s.client.sendFrame(CID.CID_LOGIN_REQ_KICKPCCLIENT, seq, IM.Login.IMKickPCClientReq.encode({ userId: 0 }).finish());
  return mark;
}

/** IMKickPCClientReq with a chosen seq; resolves with the reply frame. */
async function kickPcClient(s: Session, seq: number): Promise<{ seqNum: number; rsp: IM.Login.IMKickPCClientRsp }> {
  const r = await s.log.waitFor((x) => x.commandId === KICK_PC_RES, 2000, 'IMKickPCClientRsp', sendKickPcClient(s, seq));
  return { seqNum: r.seqNum, rsp: IM.Login.IMKickPCClientRsp.decode(r.body) };
}

describe('kick policies across gateways', () => {
  it('a PC login kicks the PC client on the other gateway (reason 1) and closes it; the mobile stays', async () => {
    const win = await session(gw1(), 'carol', PC);
    const phone = await session(gw1(), 'carol', ANDROID);
    await session(gw2(), 'carol', MAC);
    expect(await win.log.next(KICK, decodeKick)).toMatchObject({ userId: ids.carol, kickReason: KICK_REASON_DUPLICATE_USER });
    expect(await closedWithin(win.client, 3000)).toBe(true);
    await expect(phone.client.heartbeat()).resolves.toBeUndefined();
    expect(phone.log.of(KICK, decodeKick)).toEqual([]);
  });

  it('a mobile login kicks the mobile client on the other gateway (reason 1); the PC stays', async () => {
    const android = await session(gw1(), 'dave', ANDROID);
    const pc = await session(gw2(), 'dave', PC);
    const iphone = await session(gw2(), 'dave', IOS);
    expect(await android.log.next(KICK, decodeKick)).toMatchObject({ userId: ids.dave, kickReason: KICK_REASON_DUPLICATE_USER });
    expect(await closedWithin(android.client, 3000)).toBe(true);
    // route kicked while logging the iPhone in; a later message to dave is pushed after any kick.
    const marker = await sendTextMarker((await session(gw1(), 'alice', ANDROID)).client, ids.dave);
    await expectNothingBefore(pc.log, marker, pushOf(KICK));
    await expectNothingBefore(iphone.log, marker, pushOf(KICK));
    await expect(pc.client.heartbeat()).resolves.toBeUndefined();
    await expect(iphone.client.heartbeat()).resolves.toBeUndefined();
  });

  it('a PC login never kicks a mobile, and a mobile login never kicks a PC', async () => {
    const phone = await session(gw1(), 'alice', ANDROID);
    const pc = await session(gw2(), 'alice', PC);
    const marker = await sendTextMarker((await session(gw1(), 'bob', ANDROID)).client, ids.alice);
    await expectNothingBefore(phone.log, marker, pushOf(KICK));
    await expectNothingBefore(pc.log, marker, pushOf(KICK));
    await expect(phone.client.heartbeat()).resolves.toBeUndefined();
    await expect(pc.client.heartbeat()).resolves.toBeUndefined();
  });
});

describe('kick PC from mobile (0x010a)', () => {
  it('kicks the PC client on another gateway with reason 2 and answers {user_id, 0} with the seq', async () => {
    const pc = await session(gw1(), 'bob', PC);
    const phone = await session(gw2(), 'bob', ANDROID);
    const reply = await kickPcClient(phone, 4321);
    expect(reply?.seqNum).toBe(4321);
    expect(reply?.rsp).toMatchObject({ userId: ids.bob, resultCode: 0 });
    expect(await pc.log.next(KICK, decodeKick)).toMatchObject({ userId: ids.bob, kickReason: KICK_REASON_MOBILE_KICK });
    expect(await closedWithin(pc.client, 3000)).toBe(true);
    // the asking mobile is neither kicked nor closed
    await expect(phone.client.heartbeat()).resolves.toBeUndefined();
    expect(phone.log.of(KICK, decodeKick)).toEqual([]);
  });

  it('kicks a Mac client on the mobile\'s own gateway too', async () => {
    const mac = await session(gw2(), 'bob', MAC);
    const phone = await session(gw2(), 'bob', IOS);
    const reply = await kickPcClient(phone, 77);
    expect(reply?.rsp.resultCode).toBe(0);
    expect(await mac.log.next(KICK, decodeKick)).toMatchObject({ kickReason: KICK_REASON_MOBILE_KICK });
    expect(await closedWithin(mac.client, 3000)).toBe(true);
  });

  it('is ignored from a PC client: no reply, nobody kicked', async () => {
    const pc = await session(gw1(), 'carol', PC);
    const phone = await session(gw2(), 'carol', ANDROID);
    const mark = sendKickPcClient(pc, 5);
    // A reply would follow route's KickUser; a status query asked afterwards goes the same
    // way (gateway → route → gateway) and is answered after it.
    await pc.client.usersStatus([ids.carol]);
    expect(pc.log.all.slice(mark).filter((r) => r.commandId === KICK_PC_RES)).toEqual([]);
    // A kick would come from route before that answer; a later message to carol orders after it.
    const marker = await sendTextMarker((await session(gw1(), 'alice', ANDROID)).client, ids.carol);
    await expectNothingBefore(pc.log, marker, pushOf(KICK));
    await expectNothingBefore(phone.log, marker, pushOf(KICK));
    await expect(pc.client.heartbeat()).resolves.toBeUndefined();
  });
});

describe('P2P commands (0x0601)', () => {
  it('reach every connection of the peer and the sender\'s other devices on both gateways, with the real sender, and are not stored', async () => {
    const alicePc = await session(gw1(), 'alice', PC);
    const alicePhone = await session(gw2(), 'alice', ANDROID);
    const bobPc = await session(gw2(), 'bob', PC);
    const bobPhone = await session(gw1(), 'bob', IOS);
    const carolPc = await session(gw1(), 'carol', PC);
    const before = (await storedMessages(suite.pool, ids.alice, ids.bob)).length;

    // from_user_id claims to be carol: the server says who really sent it.
    const cmd = '{"cmd_id":1,"content":"typing","service_id":1}';
    alicePc.client.sendFrame(P2P, 9, IM.SwitchService.IMP2PCmdMsg.encode({ fromUserId: ids.carol, toUserId: ids.bob, cmdMsgData: cmd }).finish());
    for (const receiver of [bobPc, bobPhone, alicePhone]) {
      const got = await receiver.log.next(P2P, decodeP2P);
      expect(got).toMatchObject({ fromUserId: ids.alice, toUserId: ids.bob, cmdMsgData: cmd });
    }
    // Every gateway got its push of the command: later messages are pushed after it everywhere.
    const toBob = await sendTextMarker(alicePc.client, ids.bob);
    const toAlice = await sendTextMarker(bobPc.client, ids.alice);
    const toCarol = await sendTextMarker(bobPc.client, ids.carol);
    await expectNothingBefore(alicePc.log, toAlice, pushOf(P2P));
    await expectNothingBefore(carolPc.log, toCarol, pushOf(P2P));
    for (const receiver of [bobPc, bobPhone, alicePhone]) {
      await receiver.log.waitFor(toBob);
      expect(receiver.log.of(P2P, decodeP2P)).toHaveLength(1);
    }
    // Only the markers (stored before their ACKs, so after the command if it were) were stored since.
    const since = (await storedMessages(suite.pool, ids.alice, ids.bob)).slice(before);
    expect(since.filter((m) => !m.content.startsWith('marker '))).toEqual([]);
  });
});

describe('message rate limit (TT_MSG_RATE_PER_SEC = 20)', () => {
  it('30 messages in one second: 20 ACKs with ids, 10 refused with msg_id 0 (NOT_STORED), only 20 stored and delivered', async () => {
    const dave = await session(gw1(), 'dave', PC);
    const carol = await session(gw2(), 'carol', PC);
    const delivered: number[] = [];
    carol.client.on('message', (m) => delivered.push(m.msgId));
    const before = (await storedMessages(suite.pool, ids.dave, ids.carol)).length;
    // Start early in a wall-clock second so the burst stays in one window of the limiter.
    while (Date.now() % 1000 > 150) await sleep(10);
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        dave.client.sendText(ids.carol, `burst ${i}`).then(
          (r) => ({ ok: true as const, msgId: r.msgId }),
          (err: unknown) => ({ ok: false as const, code: isClientError(err) ? err.code : String(err) }),
        ),
      ),
    );
    const acked = outcomes.filter((o) => o.ok);
    const refused = outcomes.filter((o) => !o.ok);
    expect(acked).toHaveLength(20);
    expect(refused).toEqual(Array.from({ length: 10 }, () => ({ ok: false, code: 'NOT_STORED' })));
    const ackedIds = acked.map((o) => (o.ok ? o.msgId : 0));
    expect(ackedIds.every((id) => id > 0)).toBe(true);

    const stored = (await storedMessages(suite.pool, ids.dave, ids.carol)).slice(before);
    expect(stored.map((m) => m.content)).toEqual(Array.from({ length: 20 }, (_, i) => `burst ${i}`));
    expect(stored.map((m) => m.msgId).sort((a, b) => a - b)).toEqual([...ackedIds].sort((a, b) => a - b));

    // The next second the connection may send again; that message is pushed after the burst,
    // so once it is here every message of the burst that was going to come has.
    await sleep(1000);
    const after = await dave.client.sendText(ids.carol, 'after the burst');
    expect(after).toMatchObject({ msgId: Math.max(...ackedIds) + 1 });
    await waitFor(() => delivered.includes(after.msgId), 5000, { what: "carol's copy of 'after the burst'" });
    expect(delivered.filter((id) => id !== after.msgId).sort((a, b) => a - b)).toEqual([...ackedIds].sort((a, b) => a - b));
  });
});
