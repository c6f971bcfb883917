// Issue 10, session registry: route's Redis keeps nothing on disk. When it
// restarts empty, route notices (epoch key gone), asks every gateway to list
// its sessions again, and holds deliveries until they did: an online receiver
// keeps receiving without logging in again. A ghost session left by a Logout
// that never reached route is removed by the gateway's periodic sync, and its
// user is announced OFFLINE. Route's registry runs on a private redis-server
// this test starts, kills and restarts (by PID only).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import Redis from 'ioredis';
import type { Pool } from 'mysql2/promise';
import type { TeamTalkClient } from '@tiertalk/client';
import { IM } from '@tiertalk/proto';
import { Cluster, canConnect, flushTestRedis, freePort, prepareTestDatabase, waitFor } from '@tiertalk/testkit';
import { loggedIn, nextMessage, testDbPool, userId } from './helpers';

jest.setTimeout(120_000);

const SYNC_INTERVAL_MS = 2_000;
const PREFIX = 'tt:sm:';

/** A redis-server of our own, without persistence: a restart comes back empty. */
class PrivateRedis {
  private proc: ChildProcess | undefined;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    this.proc = proc;
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      return canConnect(this.port);
    }, 10_000);
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGKILL');
    await once(proc, 'exit');
  }
}

let redisServer: PrivateRedis;
let registry: Redis;
let cluster: Cluster;
let pool: Pool;
const open: TeamTalkClient[] = [];
let alice: TeamTalkClient;
let bob: TeamTalkClient;

beforeAll(async () => {
  await prepareTestDatabase();
  await flushTestRedis();
  redisServer = new PrivateRedis(await freePort());
  await redisServer.start();
  registry = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  registry.on('error', () => undefined); // expected while the server is restarted
  cluster = await Cluster.start({
    dbProxy: 1,
    route: 1,
    msg: 2,
    env: { TT_LEASE_TTL_SEC: '3', TT_SESSION_SYNC_INTERVAL_MS: String(SYNC_INTERVAL_MS) },
    serviceEnv: { route: { TT_SESSION_REDIS_URL: redisServer.url } },
  });
  pool = testDbPool();
});

afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await cluster?.stop();
  await pool?.end();
  registry?.disconnect();
  await redisServer?.kill();
});

async function sessionsOf(uid: number): Promise<Record<string, string>> {
  return registry.hgetall(`${PREFIX}user:${uid}`);
}

it('delivers live to an online receiver after the registry Redis restarted empty, without re-login', async () => {
  const [gw1, gw2] = cluster.gateways();
  const bobId = await userId(pool, 'bob');
  const aliceId = await userId(pool, 'alice');
  alice = await loggedIn(gw1, 'alice');
  bob = await loggedIn(gw2, 'bob');
  open.push(alice, bob);

  const before = nextMessage(bob, 10_000);
  await alice.sendText(bobId, 'before the restart');
  expect((await before).msgId).toBeGreaterThan(0);

  const epochBefore = await registry.get(`${PREFIX}epoch`);
  expect(epochBefore).not.toBeNull();
  await redisServer.kill();
  await redisServer.start();

  // Sent at once: route holds the delivery until the gateways re-listed their sessions.
  const after = nextMessage(bob, 15_000);
  const ack = await alice.sendText(bobId, 'after the restart');
  expect(ack.msgId).toBeGreaterThan(0);
  const got = await after;
  expect(got.msgId).toBe(ack.msgId);
  expect(Buffer.from(got.msgData).toString()).toContain('after the restart');
  // The registry was lost (a new epoch) and both users are registered again, by their gateways' sync.
  const epochAfter = await registry.get(`${PREFIX}epoch`);
  expect(epochAfter).not.toBeNull();
  expect(epochAfter).not.toBe(epochBefore);
  expect(Object.keys(await sessionsOf(bobId))).toHaveLength(1);
  expect(Object.keys(await sessionsOf(aliceId))).toHaveLength(1);
});

it('removes a ghost left by a Logout that never reached route, and announces its user OFFLINE', async () => {
  const [gw1, gw2] = cluster.gateways();
  const carolId = await userId(pool, 'carol');
  const watcher = await loggedIn(gw2, 'dave');
  open.push(watcher);
  const carol = await loggedIn(gw1, 'carol');
  const told = statusesOf(watcher, carolId);

  // carol leaves while no route runs: her gateway's Logout fails and is not retried.
  await cluster.kill('route-1', 'SIGKILL');
  await carol.close();
  await waitFor(() => cluster.logTail('msg-1', 400).includes('route logout failed'), 15_000);
  expect(Object.keys(await sessionsOf(carolId))).toHaveLength(1);

  await cluster.startInstance('route');
  // The gateway's periodic sync does not list carol: route removes the ghost
  // (once her login is older than the fresh-login grace) and tells the PC clients.
  await waitFor(async () => Object.keys(await sessionsOf(carolId)).length === 0, 40_000);
  await waitFor(() => told.includes(IM.BaseDefine.UserStatType.USER_STATUS_OFFLINE), 10_000);
});

/** Records, in order, the statuses `c` is told `uid` went to. */
function statusesOf(c: TeamTalkClient, uid: number): IM.BaseDefine.UserStatType[] {
  const seen: IM.BaseDefine.UserStatType[] = [];
  c.on('userStatus', (n: IM.Buddy.IMUserStatNotify) => {
    if (n.userStat.userId === uid) seen.push(n.userStat.status);
  });
  return seen;
}

it('re-registers the sessions of a gateway whose etcd lease lapsed, without re-login', async () => {
  const aliceId = await userId(pool, 'alice');
  const { USER_STATUS_OFFLINE: OFFLINE, USER_STATUS_ONLINE: ONLINE } = IM.BaseDefine.UserStatType;
  const told = statusesOf(bob, aliceId);
  const gw1 = cluster.process('msg-1');
  const pid = gw1.pid;
  if (pid === undefined) throw new Error('msg-1 has no pid');
  // Frozen past its lease (3 s): route sees its key expire, purges its sessions and tells bob.
  // bob hears OFFLINE before msg-1 resumes: route coalesces presence per gateway (TT_PRESENCE_COALESCE_MS),
  // so an ONLINE following within that window would replace the OFFLINE (CI saw exactly that).
  process.kill(pid, 'SIGSTOP');
  try {
    await waitFor(async () => Object.keys(await sessionsOf(aliceId)).length === 0, 15_000);
    await waitFor(() => told.includes(OFFLINE), 10_000);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  // Back: its registration is re-created and it lists its sessions again; alice is announced back.
  await waitFor(async () => Object.keys(await sessionsOf(aliceId)).length === 1, 15_000);
  await waitFor(() => told.lastIndexOf(ONLINE) > told.indexOf(OFFLINE), 10_000);
  // The periodic sync may have come first; the re-registration's own sync follows.
  await waitFor(() => cluster.logTail('msg-1', 400).includes('"reason":"lease-renewed"'), 10_000);
  const got = nextMessage(alice, 10_000);
  const ack = await bob.sendText(aliceId, 'after the lapse');
  expect((await got).msgId).toBe(ack.msgId);
});

it("announces a killed gateway's users OFFLINE", async () => {
  const aliceId = await userId(pool, 'alice');
  const told = statusesOf(bob, aliceId);
  await cluster.kill('msg-1', 'SIGKILL');
  await waitFor(() => told.includes(IM.BaseDefine.UserStatType.USER_STATUS_OFFLINE), 15_000);
  await waitFor(async () => Object.keys(await sessionsOf(aliceId)).length === 0, 15_000);
});
