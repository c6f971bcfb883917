// docs/SECURITY.md "Lockout and limits", the gateway's part: per-IP admission,
// WebSocket Origin, the pre-login frame cap, the in-flight limit, RefusalLog,
// per-user budgets and request list caps. Real db-proxy and route processes
// (testkit); each gateway runs in this process with the limits under test, so
// the test can read its refusal counters and upstream call peak.
import net from 'node:net';
import type { RowDataPacket } from 'mysql2/promise';
import { WebSocket } from 'ws';
import { TeamTalkClient } from '@tiertalk/client';
import { createLogger } from '@tiertalk/log';
import { refusalCount } from '@tiertalk/metrics';
import { encodeFrame } from '@tiertalk/pdu';
import { CID, IM, SID } from '@tiertalk/proto';
import { testConfig, testPki, tlsEnv, waitFor } from '@tiertalk/testkit';
import { loadMsgConfig } from '../../services/msg/src/config';
import { startGateway } from '../../services/msg/src/main';
import type { RunningGateway } from '../../services/msg/src/main';
import { unaryCalls } from '../../services/msg/src/upstream/unary-calls';
import { DEMO_PASSWORD, PC, ANDROID, closedWithin, rawSocket, socketClosedWithin } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const suite = e2eSuite('gateway-limits', { dbProxy: 1, route: 1, msg: 0 });
const { ids } = suite;
const gateways: RunningGateway[] = [];
const clients: TeamTalkClient[] = [];
const sockets: net.Socket[] = [];
let gatewaySeq = 0;

interface LogLine {
  msg: string;
  reason?: string;
  [k: string]: unknown;
}

/** A gateway in this process with `env` on top of the test defaults; its warn lines land in `lines`. */
async function gateway(env: Record<string, string> = {}, lines: LogLine[] = []): Promise<RunningGateway> {
  const config = loadMsgConfig({
    TT_INSTANCE_ID: `msg-limits-${++gatewaySeq}`,
    TT_ETCD_ENDPOINTS: testConfig.etcdEndpoints.join(','),
    TT_ETCD_PREFIX: suite.cluster.prefix,
    TT_LEASE_TTL_SEC: '3',
    TT_GRPC_HOST: '127.0.0.1',
    TT_GRPC_PORT: '0',
    // The cluster's db-proxy and route accept only mutual TLS: the in-process gateway presents msg's certificate.
    ...tlsEnv(testPki(), 'msg'),
    TT_TCP_PORT: '0',
    TT_WS_PORT: '0',
    TT_LISTEN_HOST: '127.0.0.1',
    ...env,
  });
  const log = createLogger({
    service: 'msg',
    instanceId: config.instanceId,
    level: 'warn',
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) },
  });
  const gw = await startGateway(config, log);
  gateways.push(gw);
  return gw;
}

async function client(gw: RunningGateway, transport: 'tcp' | 'ws' = 'tcp'): Promise<TeamTalkClient> {
  const c = await TeamTalkClient.connect({
    host: '127.0.0.1',
    port: transport === 'tcp' ? gw.tcpPort : gw.wsPort,
    transport,
    heartbeatMs: 0,
    requestTimeoutMs: 10_000,
  });
  clients.push(c);
  return c;
}

async function loggedIn(gw: RunningGateway, user: string, clientType = PC): Promise<TeamTalkClient> {
  const c = await client(gw);
  await c.login(user, DEMO_PASSWORD, { clientType });
  return c;
}

/** Logs in, retrying while the gateway has not yet seen a freed slot (a closed socket is noticed asynchronously). */
async function loggedInOnceAdmitted(gw: RunningGateway, user: string): Promise<TeamTalkClient> {
  let c: TeamTalkClient | undefined;
  await waitFor(async () => {
    try {
      c = await loggedIn(gw, user);
      return true;
    } catch {
      return false;
    }
  }, 10_000);
  if (!c) throw new Error('not admitted');
  return c;
}

async function raw(port: number): Promise<net.Socket> {
  const s = await rawSocket(port);
  s.on('error', () => undefined);
  sockets.push(s);
  return s;
}

/** Resolves with the HTTP status of a refused WebSocket upgrade, or 101 when it opened. */
function wsUpgradeStatus(port: number, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, origin === undefined ? {} : { origin });
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

/** A heartbeat frame padded (unknown protobuf field 15) to exactly `total` bytes. */
function paddedHeartbeat(total: number, seq = 1): Buffer {
  const pad = total - 16 - 4; // tag (1) + 3-byte length varint
  const body = Buffer.concat([Buffer.from([0x7a]), Buffer.from([(pad & 0x7f) | 0x80, ((pad >> 7) & 0x7f) | 0x80, pad >> 14]), Buffer.alloc(pad, 0x61)]);
  return encodeFrame(SID.SID_OTHER, CID.CID_OTHER_HEARTBEAT, seq, body);
}

/** The next frame the socket receives, as its header fields. */
function nextFrame(s: net.Socket): Promise<{ length: number; commandId: number; seq: number }> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 16) return;
      const length = buf.readUInt32BE(0);
      if (buf.length < length) return;
      s.off('data', onData);
      resolve({ length, commandId: buf.readUInt16BE(10), seq: buf.readUInt16BE(12) });
    };
    s.on('data', onData);
  });
}

suite.afterEachTest(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(gateways.splice(0).map((g) => g.stop('test end')));
});

describe('per-IP admission', () => {
  it('refuses unauthenticated connections beyond TT_MAX_UNAUTH_CONN_PER_IP on TCP and WebSocket; logged-in ones do not count', async () => {
    const gw = await gateway({ TT_MAX_UNAUTH_CONN_PER_IP: '2', TT_MAX_CONN_PER_IP: '4' });
    const unauthBefore = await refusalCount('unauth_per_ip_limit');
    const first = await raw(gw.tcpPort);
    await raw(gw.tcpPort);
    // A third stranger is cut at once, on either transport.
    expect(await socketClosedWithin(await raw(gw.tcpPort), 5000)).toBe(true);
    expect(await wsUpgradeStatus(gw.wsPort)).toBe(429);
    expect(await refusalCount('unauth_per_ip_limit')).toBe(unauthBefore + 2);

    // One stranger leaves: a client gets in and logs in, and then no longer counts as unauthenticated.
    first.destroy();
    const alice = await loggedInOnceAdmitted(gw, 'alice');
    expect(alice.userId).toBe(ids.alice);
    const bob = await loggedIn(gw, 'bob');
    expect(bob.userId).toBe(ids.bob);

    // Open: alice, bob, one stranger. One more stranger fits (unauth 2 of 2, total 4 of 4); the next does not.
    const connBefore = await refusalCount('conn_per_ip_limit');
    await raw(gw.tcpPort);
    expect(await socketClosedWithin(await raw(gw.tcpPort), 5000)).toBe(true);
    expect(await refusalCount('conn_per_ip_limit')).toBe(connBefore + 1);
    // The logged-in clients were not disturbed.
    expect((await alice.latestMsgId(IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE, ids.bob)) >= 0).toBe(true);
  });
});

describe('WebSocket Origin allow-list', () => {
  it('answers 403 to an unlisted browser origin, lets a listed one and a non-browser client (no Origin) in', async () => {
    const gw = await gateway({ TT_WS_ALLOWED_ORIGINS: 'https://chat.example.com' });
    const before = await refusalCount('ws_origin_refused');
    expect(await wsUpgradeStatus(gw.wsPort, 'https://evil.example.net')).toBe(403);
    expect(await refusalCount('ws_origin_refused')).toBe(before + 1);
    expect(await wsUpgradeStatus(gw.wsPort, 'https://chat.example.com')).toBe(101);
    const c = await client(gw, 'ws');
    await c.login('carol', DEMO_PASSWORD);
    expect(c.userId).toBe(ids.carol);
  });

  it('allows every origin when TT_WS_ALLOWED_ORIGINS is unset', async () => {
    const gw = await gateway();
    expect(await wsUpgradeStatus(gw.wsPort, 'https://anywhere.example.org')).toBe(101);
  });
});

describe('frame size before login', () => {
  it('echoes a 4 KiB frame before login but closes on a larger one at its header; after login the full size is allowed', async () => {
    const gw = await gateway();
    const before = await refusalCount('frame_too_large');
    const s = await raw(gw.tcpPort);
    const echoed = nextFrame(s);
    s.write(paddedHeartbeat(4096, 7));
    expect(await echoed).toEqual({ length: 4096, commandId: CID.CID_OTHER_HEARTBEAT, seq: 7 });
    // Only the header of the big frame is sent: the gateway must not wait for (or buffer) its body.
    s.write(paddedHeartbeat(4097, 8).subarray(0, 16));
    expect(await socketClosedWithin(s, 5000)).toBe(true);
    expect(await refusalCount('frame_too_large')).toBe(before + 1);

    const alice = await loggedIn(gw, 'alice');
    // 3,000 two-byte characters: a ~6 KiB frame, stored once logged in.
    const sent = await alice.sendText(ids.bob, 'é'.repeat(3000));
    expect(sent.msgId).toBeGreaterThan(0);
  });

  it('closes a WebSocket whose message before login is larger than two pre-login frames; after login large ones pass', async () => {
    const gw = await gateway();
    const before = await refusalCount('frame_too_large');
    const ws = new WebSocket(`ws://127.0.0.1:${gw.wsPort}/`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    // ws must not buffer this whole 100 KiB message for a stranger.
    ws.send(Buffer.concat([paddedHeartbeat(16_000, 1), Buffer.alloc(100_000 - 16_000)]));
    expect(await closed).toBe(1009);
    expect(await refusalCount('frame_too_large')).toBe(before + 1);

    const bob = await client(gw, 'ws');
    await bob.login('bob', DEMO_PASSWORD);
    expect((await bob.sendText(ids.alice, 'é'.repeat(3000))).msgId).toBeGreaterThan(0);
  });
});

describe('in-flight limit', () => {
  it('dispatches at most TT_CONN_MAX_IN_FLIGHT (default 64) upstream calls for one flooding connection and answers every request', async () => {
    const gw = await gateway();
    const alice = await loggedIn(gw, 'alice');
    const FLOOD = 1500;
    unaryCalls.resetPeak();
    const answers = await Promise.all(
      Array.from({ length: FLOOD }, () => alice.latestMsgId(IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE, ids.bob, { timeoutMs: 60_000 })),
    );
    expect(answers).toHaveLength(FLOOD);
    expect(answers.every((id) => id >= 0)).toBe(true);
    expect(unaryCalls.peak).toBeLessThanOrEqual(64);
    // The limit was reached (the flood really queued), not merely never approached.
    expect(unaryCalls.peak).toBeGreaterThanOrEqual(32);
  }, 120_000);

  it('closes a connection whose decoded frames overflow the inbound queue', async () => {
    const gw = await gateway({ TT_CONN_INBOUND_QUEUE_MAX: '100' });
    const before = await refusalCount('inbound_queue_full');
    const s = await raw(gw.tcpPort);
    // 5,000 frames in one write: some read holds far more than 100 of them.
    s.write(Buffer.concat(Array.from({ length: 5000 }, (_, i) => encodeFrame(SID.SID_OTHER, CID.CID_OTHER_HEARTBEAT, (i % 60000) + 1, Buffer.alloc(0)))));
    s.resume();
    expect(await socketClosedWithin(s, 5000)).toBe(true);
    expect(await refusalCount('inbound_queue_full')).toBe(before + 1);
  });
});

describe('RefusalLog for ignored frames', () => {
  it('counts every unknown or premature frame but logs each offender once', async () => {
    const lines: LogLine[] = [];
    const gw = await gateway({}, lines);
    const unknownBefore = await refusalCount('unknown_command');
    const earlyBefore = await refusalCount('command_before_login');
    const s = await raw(gw.tcpPort);
    const frames: Buffer[] = [];
    for (let i = 1; i <= 500; i++) {
      frames.push(encodeFrame(0x7f, 0x7f01, i, Buffer.from('junk')));
      frames.push(encodeFrame(SID.SID_BUDDY_LIST, CID.CID_BUDDY_LIST_ALL_USER_REQUEST, i, IM.Buddy.IMAllUserReq.encode({ userId: 1, latestUpdateTime: 0 }).finish()));
    }
    // A heartbeat last: its echo proves every frame before it was handled.
    const marker = nextFrame(s);
    s.write(Buffer.concat([...frames, encodeFrame(SID.SID_OTHER, CID.CID_OTHER_HEARTBEAT, 999, Buffer.alloc(0))]));
    expect(await marker).toMatchObject({ commandId: CID.CID_OTHER_HEARTBEAT, seq: 999 });
    expect(await refusalCount('unknown_command')).toBe(unknownBefore + 500);
    expect(await refusalCount('command_before_login')).toBe(earlyBefore + 500);
    expect(lines.filter((l) => l.msg === 'refused' && l.reason === 'unknown_command')).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'refused' && l.reason === 'command_before_login')).toHaveLength(1);
    expect(s.destroyed).toBe(false);
  });
});

async function signInfo(name: string): Promise<string> {
  const [rows] = await suite.pool.query<RowDataPacket[]>('SELECT sign_info FROM IMUser WHERE id = ?', [ids[name]]);
  return String(rows[0].sign_info);
}

function changeSignInfo(c: TeamTalkClient, text: string): Promise<IM.Buddy.IMChangeSignInfoRsp> {
  return c.request(
    CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST,
    IM.Buddy.IMChangeSignInfoReq.encode({ userId: 0, signInfo: text }).finish(),
    CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE,
    (b) => IM.Buddy.IMChangeSignInfoRsp.decode(b),
  );
}

function createGroup(c: TeamTalkClient, name: string, memberIdList: number[]): Promise<IM.Group.IMGroupCreateRsp> {
  return c.request(
    CID.CID_GROUP_CREATE_REQUEST,
    IM.Group.IMGroupCreateReq.encode({ userId: 0, groupType: IM.BaseDefine.GroupType.GROUP_TYPE_TMP, groupName: name, groupAvatar: '', memberIdList }).finish(),
    CID.CID_GROUP_CREATE_RESPONSE,
    (b) => IM.Group.IMGroupCreateRsp.decode(b),
  );
}

describe('per-user budgets', () => {
  it('answers sign-info changes beyond the budget with result 1, not stored and not broadcast', async () => {
    const gw = await gateway({ TT_USER_RATE_PROFILE: '2/60' });
    const alice = await loggedIn(gw, 'alice');
    // A second device of alice shares her budget.
    const alice2 = await loggedIn(gw, 'alice', ANDROID);
    const before = await refusalCount('rate_limit_profile');
    expect((await changeSignInfo(alice, 'one')).resultCode).toBe(0);
    expect((await changeSignInfo(alice2, 'two')).resultCode).toBe(0);
    expect((await changeSignInfo(alice, 'three')).resultCode).toBe(1);
    expect(await refusalCount('rate_limit_profile')).toBe(before + 1);
    expect(await signInfo('alice')).toBe('two');
  });

  it('answers group creates beyond the budget with result 1', async () => {
    const gw = await gateway({ TT_USER_RATE_GROUP_CHANGE: '1/60' });
    const bob = await loggedIn(gw, 'bob');
    const before = await refusalCount('rate_limit_group_change');
    expect((await createGroup(bob, 'limits-1', [ids.bob, ids.carol])).resultCode).toBe(0);
    const refused = await createGroup(bob, 'limits-2', [ids.bob, ids.carol]);
    expect(refused).toMatchObject({ resultCode: 1, groupName: 'limits-2' });
    expect(await refusalCount('rate_limit_group_change')).toBe(before + 1);
  });

  it('drops p2p commands beyond the budget: the peer gets the first ones, then the message sent after them', async () => {
    const gw = await gateway({ TT_USER_RATE_P2P: '3/60' });
    const carol = await loggedIn(gw, 'carol');
    const dave = await loggedIn(gw, 'dave');
    const got: string[] = [];
    dave.on('p2p', (m: IM.SwitchService.IMP2PCmdMsg) => got.push(m.cmdMsgData));
    const before = await refusalCount('rate_limit_p2p');
    for (let i = 1; i <= 6; i++) carol.p2p(ids.dave, `typing-${i}`);
    await waitFor(async () => (await refusalCount('rate_limit_p2p')) === before + 3, 10_000);
    const marker = new Promise<void>((resolve) => dave.once('message', () => resolve()));
    await carol.sendText(ids.dave, 'after the p2p commands');
    await marker;
    expect(got).toEqual(['typing-1', 'typing-2', 'typing-3']);
  });

  it('drops list queries beyond the budget (no TeamTalk error response exists); other requests still answer', async () => {
    const gw = await gateway({ TT_USER_RATE_LIST_QUERY: '5/60' });
    const bob = await loggedIn(gw, 'bob');
    const before = await refusalCount('rate_limit_list_query');
    const infoResponses: number[] = [];
    bob.on('pdu', (p: { commandId: number; seqNum: number }) => {
      if (p.commandId === CID.CID_BUDDY_LIST_USER_INFO_RESPONSE) infoResponses.push(p.seqNum);
    });
    for (let i = 0; i < 5; i++) expect(await bob.usersInfo([ids.alice])).toHaveLength(1);
    const sixth = bob.usersInfo([ids.alice], { timeoutMs: 30_000 });
    sixth.catch(() => undefined);
    await waitFor(async () => (await refusalCount('rate_limit_list_query')) === before + 1, 10_000);
    // A later request of another class is answered; the refused one never is.
    expect(await bob.latestMsgId(IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE, ids.alice)).toBeGreaterThanOrEqual(0);
    expect(infoResponses).toHaveLength(5);
  });
});

describe('request list caps', () => {
  it('answers a group create with more than TT_MAX_LIST_GROUP_MEMBERS members with result 1, connection kept', async () => {
    const gw = await gateway();
    const carol = await loggedIn(gw, 'carol');
    const before = await refusalCount('list_too_long');
    const members = Array.from({ length: 3001 }, (_, i) => 900_000 + i);
    expect((await createGroup(carol, 'too-big', members)).resultCode).toBe(1);
    expect(await refusalCount('list_too_long')).toBe(before + 1);
    expect(await carol.latestMsgId(IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE, ids.alice)).toBeGreaterThanOrEqual(0);
  });

  it.each([
    ['a user info list over 10,000 ids', CID.CID_BUDDY_LIST_USER_INFO_REQUEST, () => IM.Buddy.IMUsersInfoReq.encode({ userId: 0, userIdList: Array.from({ length: 10_001 }, (_, i) => i + 1) }).finish()],
    ['a users status list over 10,000 ids', CID.CID_BUDDY_LIST_USERS_STATUS_REQUEST, () => IM.Buddy.IMUsersStatReq.encode({ userId: 0, userIdList: Array.from({ length: 10_001 }, (_, i) => i + 1) }).finish()],
    [
      'a group info list over 1,000 groups',
      CID.CID_GROUP_INFO_REQUEST,
      () => IM.Group.IMGroupInfoListReq.encode({ userId: 0, groupVersionList: Array.from({ length: 1001 }, (_, i) => ({ groupId: i + 1, version: 0 })) }).finish(),
    ],
    [
      'a by-id list over 1,000 messages',
      CID.CID_MSG_GET_BY_MSG_ID_REQ,
      () => IM.Message.IMGetMsgByIdReq.encode({ userId: 0, sessionType: IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE, sessionId: 1, msgIdList: Array.from({ length: 1001 }, (_, i) => i + 1) }).finish(),
    ],
  ])('closes the connection on %s (no result code to refuse it with)', async (_what, commandId, body) => {
    const gw = await gateway();
    const alice = await loggedIn(gw, 'alice');
    const before = await refusalCount('list_too_long');
    alice.request(commandId, body(), 0xffff, (b) => b).catch(() => undefined);
    expect(await closedWithin(alice, 5000)).toBe(true);
    expect(await refusalCount('list_too_long')).toBe(before + 1);
  });

  it('serves a history page over TT_MAX_HISTORY_PAGE at the cap (counted), connection kept', async () => {
    const gw = await gateway({ TT_MAX_HISTORY_PAGE: '3' });
    const dave = await loggedIn(gw, 'dave');
    for (let i = 1; i <= 5; i++) await dave.sendText(ids.carol, `page-${i}`);
    const before = await refusalCount('list_clamped');
    const page = await dave.messageList(IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE, ids.carol, 0, 40);
    expect(page.msgList).toHaveLength(3);
    expect(await refusalCount('list_clamped')).toBe(before + 1);
  });

  it('serves lists at the caps (TeamTalk-sized requests)', async () => {
    const gw = await gateway();
    const alice = await loggedIn(gw, 'alice');
    const stat = await alice.usersStatus(Array.from({ length: 10_000 }, (_, i) => i + 1));
    expect(stat).toHaveLength(10_000);
    const page = await alice.messageList(IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE, ids.bob, 0, 100);
    expect(Array.isArray(page.msgList)).toBe(true);
  });
});
