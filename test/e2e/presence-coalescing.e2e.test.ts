// Coalesced desktop presence (docs/FLOWS.md §5 "Coalescing"): route gathers
// IMUserStatNotify changes for TT_PRESENCE_COALESCE_MS and each gateway writes
// one PDU per user to its PC connections. What a stock PC client must see:
// every user's ONLINE exactly once, a user who came and went within the
// interval OFFLINE at the end, and a user's ONLINE before a message it sent.
import type { TeamTalkClient } from '@tiertalk/client';
import { CID, IM } from '@tiertalk/proto';
import type { GatewayInfo } from '@tiertalk/testkit';
import { DEMO_PASSWORD, PC, connect, createUser } from './helpers';
import { e2eSuite } from './suite';
import { PushLog } from './pushes';

jest.setTimeout(90_000);

const { USER_STATUS_ONLINE, USER_STATUS_OFFLINE } = IM.BaseDefine.UserStatType;
const STATUS = CID.CID_BUDDY_LIST_STATUS_NOTIFY;
// Wide, so that what one test does within it is certainly gathered together on a busy machine.
const COALESCE_MS = 1000;
const decodeStatus = (b: Uint8Array): IM.BaseDefine.UserStat.$Properties => {
  const stat = IM.Buddy.IMUserStatNotify.decode(b).userStat;
  if (!stat) throw new Error('IMUserStatNotify without user_stat');
  return stat;
};

const suite = e2eSuite('presence-coalescing', {
  dbProxy: 1,
  route: 1,
  msg: 2,
  login: false,
  serviceEnv: { route: { TT_PRESENCE_COALESCE_MS: String(COALESCE_MS) } },
});
const gw1 = (): GatewayInfo => suite.gateway(0);
const gw2 = (): GatewayInfo => suite.gateway(1);
let markerSeq = 0;

interface Session {
  client: TeamTalkClient;
  log: PushLog;
  userId: number;
}

async function session(gw: GatewayInfo, user: string): Promise<Session> {
  const client = await connect(gw);
  suite.track(client);
  const log = new PushLog(client);
  const me = await client.login(user, DEMO_PASSWORD, { clientType: PC });
  return { client, log, userId: me.userInfo.userId };
}

/** Statuses of `userId` among the IMUserStatNotify PDUs `log` received from `from` on, in order. */
function statusesOf(log: PushLog, userId: number, from = 0): number[] {
  return log.all
    .slice(from)
    .filter((r) => r.commandId === STATUS && r.seqNum === 0)
    .map((r) => decodeStatus(r.body))
    .filter((s) => s.userId === userId)
    .map((s) => s.status);
}

/**
 * A fresh user logs in on gateway 2 and the receiver waits for its ONLINE:
 * route's presence to one gateway keeps its order, so whatever was gathered
 * before has arrived by then, and nothing gathered before is still pending.
 */
async function presenceMarker(receiver: Session): Promise<void> {
  const name = `pc_marker_${markerSeq++}`;
  await createUser(suite.pool, name);
  const marker = await session(gw2(), name);
  await receiver.log.next(STATUS, decodeStatus, (s) => s.userId === marker.userId && s.status === USER_STATUS_ONLINE, 10_000);
}

it('users logging in within one interval: an online PC receiver hears each ONLINE exactly once, and each new PC its own once', async () => {
  const names = Array.from({ length: 8 }, (_, i) => `pc_wave_${i}`);
  for (const n of names) await createUser(suite.pool, n);
  const receiver = await session(gw1(), 'alice');
  await presenceMarker(receiver);
  const from = receiver.log.mark;

  // Half on the receiver's gateway, half on the other one, all at once.
  const wave = await Promise.all(names.map((n, i) => session(i % 2 === 0 ? gw1() : gw2(), n)));
  for (const u of wave) await receiver.log.next(STATUS, decodeStatus, (s) => s.userId === u.userId, 10_000, from);
  // A later presence change arrives after anything still coming from this wave.
  await presenceMarker(receiver);

  for (const u of wave) expect(statusesOf(receiver.log, u.userId, from)).toEqual([USER_STATUS_ONLINE]);
  // A new PC is left out of the list for its own login (its gateway told it after the login response), and hears the others.
  for (const u of wave) {
    expect(statusesOf(u.log, u.userId)).toEqual([USER_STATUS_ONLINE]);
    expect(u.log.all.findIndex((r) => r.commandId === STATUS)).toBeGreaterThan(u.log.indexOf(CID.CID_LOGIN_RES_USERLOGIN));
    for (const other of wave) if (other !== u) expect(statusesOf(u.log, other.userId).length).toBeLessThanOrEqual(1);
  }
});

it('a user who logs in and out within the interval ends OFFLINE at the receiver, its ONLINE coalesced away', async () => {
  await createUser(suite.pool, 'pc_flap');
  const receiver = await session(gw1(), 'alice');
  // Nothing gathered before is pending: the flap starts a fresh interval.
  await presenceMarker(receiver);
  const from = receiver.log.mark;

  const flap = await session(gw2(), 'pc_flap');
  await flap.client.logout();
  await receiver.log.next(STATUS, decodeStatus, (s) => s.userId === flap.userId, 10_000, from);
  await presenceMarker(receiver);

  expect(statusesOf(receiver.log, flap.userId, from)).toEqual([USER_STATUS_OFFLINE]);
});

it('a user\'s ONLINE reaches the receiver before a message that user sent right after logging in', async () => {
  await createUser(suite.pool, 'pc_sender');
  const receiver = await session(gw1(), 'alice');
  await presenceMarker(receiver);
  const from = receiver.log.mark;

  const sender = await session(gw2(), 'pc_sender');
  await sender.client.sendText(receiver.userId, 'hello after login');
  const msg = await receiver.log.next(CID.CID_MSG_DATA, (b) => IM.Message.IMMsgData.decode(b), (m) => m.fromUserId === sender.userId, 10_000, from);
  const online = await receiver.log.next(STATUS, decodeStatus, (s) => s.userId === sender.userId, 10_000, from);
  // Without the flush before other pushes, the message would arrive up to COALESCE_MS before the ONLINE.
  expect(online.index).toBeLessThan(msg.index);
});
