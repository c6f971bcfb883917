// Group traffic control with its default settings (docs/FLOWS.md §10.2): a
// big group posting faster than the seed's fixed budget (2,000 deliveries/s
// per gateway) is delivered in full and faster than that budget allowed, and
// a member that stops reading neither holds up the others nor is cut off: its
// live pushes are shed (counted in tt_msg_group_push_shed_total) while every
// message stays in its unread count and history.
import net from 'node:net';
import { TeamTalkClient } from '@tiertalk/client';
import { FrameReader, encodeFrame } from '@tiertalk/pdu';
import { CID, IM, serviceIdOf } from '@tiertalk/proto';
import { testConfig, waitFor } from '@tiertalk/testkit';
import type { GatewayInfo } from '@tiertalk/testkit';
import { ensureUsers } from '../pressure/src/users';
import { DEMO_PASSWORD, PC, loggedIn, md5hex } from './helpers';
import { parseExposition, sumOf } from './prometheus-text';
import { e2eSuite } from './suite';

jest.setTimeout(240_000);

const GROUP = IM.BaseDefine.SessionType.SESSION_TYPE_GROUP;
const MEMBERS = 300;
// The seed's default: 2,000 deliveries per second per gateway.
const OLD_TICKETS_PER_SEC = 2_000;
const names = Array.from({ length: MEMBERS }, (_, i) => `gad-${String(i + 1).padStart(4, '0')}`);
const STUCK = names[MEMBERS - 1];

const suite = e2eSuite(
  'group-adaptive',
  { dbProxy: 1, route: 1, msg: 2, serviceEnv: { msg: { TT_MSG_RATE_PER_SEC: '0' } } },
  // The 300 members log in once (beforeAll) and stay for every test: their sessions are meant to outlive a test.
  { waitForLogouts: false },
);
const ids = new Map<string, number>();
const open: TeamTalkClient[] = [];
const raw: net.Socket[] = [];
let sender: TeamTalkClient;
// Receivers on gateway 1, with the msg ids of the group pushes each got (raw frames, before the SDK's duplicate suppression).
const receivers: Array<{ name: string; client: TeamTalkClient; live: Map<number, number[]> }> = [];

beforeAll(async () => {
  await ensureUsers(testConfig.mysqlTestUrl, names, DEMO_PASSWORD);
  const [rows] = await suite.pool.query<Array<{ id: number; name: string } & import('mysql2').RowDataPacket>>('SELECT id, name FROM IMUser WHERE name IN (?)', [names]);
  for (const r of rows) ids.set(r.name, r.id);
  const [gw1, gw2] = suite.cluster.gateways();
  sender = await loggedIn(gw2, names[0], PC);
  open.push(sender);
  // Every other member but the stuck one on gateway 1, 20 logins at a time.
  const others = names.slice(1, MEMBERS - 1);
  for (let i = 0; i < others.length; i += 20) {
    const batch = await Promise.all(others.slice(i, i + 20).map((n) => loggedIn(gw1, n, PC)));
    batch.forEach((client, j) => {
      const r = { name: others[i + j], client, live: new Map<number, number[]>() };
      client.on('pdu', (p: { commandId: number; body: Uint8Array }) => {
        if (p.commandId !== CID.CID_MSG_DATA) return;
        const m = IM.Message.IMMsgData.decode(p.body);
        const list = r.live.get(m.toSessionId) ?? [];
        list.push(m.msgId);
        r.live.set(m.toSessionId, list);
      });
      receivers.push(r);
      open.push(client);
    });
  }
});

afterAll(async () => {
  for (const s of raw) s.destroy();
  await Promise.all(open.map((c) => c.close()));
});

/** A metric of one gateway (its /metrics), summed over the series matching `labels`. */
async function metricOf(gw: GatewayInfo, name: string, labels: Record<string, string> = {}): Promise<number> {
  const port = suite.cluster.instanceInfo().find((i) => i.name === gw.name)?.metricsPort ?? 0;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return sumOf(parseExposition(text), name, labels);
}

/** Every history page of the group, newest first, until the start. */
async function wholeHistory(c: TeamTalkClient, groupId: number): Promise<number[]> {
  const got: number[] = [];
  let begin = 0;
  for (;;) {
    const page = await c.messageList(GROUP, groupId, begin, 100);
    got.push(...page.msgList.map((m) => m.msgId));
    if (page.msgList.length < 100) return got;
    begin = page.msgList[page.msgList.length - 1].msgId - 1;
    if (begin <= 0) return got;
  }
}

/** A logged-in connection that then stops reading (the kernel buffers fill, then the gateway's). */
async function stuckMember(gw: GatewayInfo, name: string): Promise<net.Socket> {
  const socket = net.connect(gw.tcpPort, '127.0.0.1');
  raw.push(socket);
  const reader = new FrameReader();
  const loggedInRes = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        if (f.commandId !== CID.CID_LOGIN_RES_USERLOGIN) continue;
        const res = IM.Login.IMLoginRes.decode(f.body);
        if (res.resultCode === 0) resolve();
        else reject(new Error(`login refused: ${res.resultString}`));
      }
    });
    socket.once('error', reject);
  });
  const body = IM.Login.IMLoginReq.encode({
    userName: name,
    password: md5hex(DEMO_PASSWORD),
    onlineStatus: IM.BaseDefine.UserStatType.USER_STATUS_ONLINE,
    clientType: PC,
    clientVersion: 'stuck-test',
  }).finish();
  socket.write(encodeFrame(serviceIdOf(CID.CID_LOGIN_REQ_USERLOGIN), CID.CID_LOGIN_REQ_USERLOGIN, 1, body));
  await loggedInRes;
  socket.removeAllListeners('data');
  socket.pause();
  return socket;
}

describe('group traffic control with default settings', () => {
  it('delivers a burst to a 300-member group in full, faster than the seed\'s 2,000-per-second budget could', async () => {
    const members = names.slice(0, MEMBERS - 1);
    const group = await sender.groups.createGroup('adaptive', '', members.map((n) => ids.get(n) ?? 0));
    const burst = 80;
    const deliveries = burst * receivers.length; // all on gateway 1
    const started = Date.now();
    const acks = await Promise.all(Array.from({ length: burst }, (_, i) => sender.groups.sendGroupText(group.groupId, `burst ${i}`)));
    const acked = acks.map((a) => a.msgId).sort((a, b) => a - b);
    await waitFor(() => receivers.every((r) => (r.live.get(group.groupId)?.length ?? 0) >= burst), 60_000, { what: 'every live push' });
    const elapsedMs = Date.now() - started;
    for (const r of receivers) expect([...(r.live.get(group.groupId) ?? [])].sort((a, b) => a - b)).toEqual(acked);
    // The old budget: the first 2,000 at once, then 2,000 a second.
    expect(elapsedMs).toBeLessThan(((deliveries - OLD_TICKETS_PER_SEC) / OLD_TICKETS_PER_SEC) * 1000);
  });

  it('a member that stops reading does not hold up the others; its live pushes are shed and counted, its messages stay retrievable', async () => {
    const [gw1] = suite.cluster.gateways();
    const stuck = await stuckMember(gw1, STUCK);
    const readers = receivers.slice(0, 5);
    const group = await sender.groups.createGroup('stuck', '', [names[0], ...readers.map((r) => r.name), STUCK].map((n) => ids.get(n) ?? 0));
    const shedBefore = await metricOf(gw1, 'tt_msg_group_push_shed_total', { reason: 'slow_connection' });
    const connsOpen = await metricOf(gw1, 'tt_msg_connections_open');
    // ~4 KiB a message: 1,300 of them are more than the kernel buffers (~4 MiB) plus the gateway's high-water mark.
    const text = 'x'.repeat(4000);
    const count = 1_300;
    const acked: number[] = [];
    for (let i = 0; i < count; i += 100) {
      const acks = await Promise.all(Array.from({ length: Math.min(100, count - i) }, () => sender.groups.sendGroupText(group.groupId, text)));
      acked.push(...acks.map((a) => a.msgId));
    }
    acked.sort((a, b) => a - b);
    await waitFor(() => readers.every((r) => (r.live.get(group.groupId)?.length ?? 0) >= count), 60_000, { what: 'the readers\' live pushes' });
    for (const r of readers) expect([...(r.live.get(group.groupId) ?? [])].sort((a, b) => a - b)).toEqual(acked);
    expect(await metricOf(gw1, 'tt_msg_group_push_shed_total', { reason: 'slow_connection' })).toBeGreaterThan(shedBefore);
    // Not cut off for being slow (its buffer stays under the outbound cap): the gateway keeps the connection.
    expect(await metricOf(gw1, 'tt_msg_connections_open')).toBe(connsOpen);
    stuck.destroy();
    // The same member, reading again: everything is in unread and history.
    const again = suite.track(await loggedIn(gw1, STUCK, PC));
    const unread = await again.unreadCounts();
    expect(unread.unreadinfoList.find((u) => u.sessionId === group.groupId)?.unreadCnt).toBe(count);
    expect((await wholeHistory(again, group.groupId)).sort((a, b) => a - b)).toEqual(acked);
  });
});
