// Every Redis of the cluster on a real three-master Redis Cluster (issue 13,
// docs/OPERATIONS.md "Redis Cluster"): db-proxy's five instances and route's
// session registry point at redis-cluster:// seeds. A Lua script, MULTI or
// pipeline that touched two slots would fail here (CROSSSLOT / "same slot"),
// so each flow doubles as the proof that its keys are tagged right
// (docs/STORAGE.md "Redis Cluster").
import { Cluster as RedisCluster } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import { SessionType, TeamTalkClient, isClientError } from '@tiertalk/client';
import { CID, IM } from '@tiertalk/proto';
import { Cluster, GatewayInfo, PrivateRedisCluster, prepareTestDatabase, waitFor } from '@tiertalk/testkit';
import { ANDROID, closedWithin, createUser, DEMO_PASSWORD, loggedIn, PC, testDbPool } from './helpers';
import { PushLog } from './pushes';

jest.setTimeout(90_000);

const SINGLE = SessionType.SESSION_TYPE_SINGLE;
const GROUP = SessionType.SESSION_TYPE_GROUP;
const FAIL_LIMIT = 3;
const VALIDATE_FAILED = IM.BaseDefine.ResultType.REFUSE_REASON_DB_VALIDATE_FAILED;
const { USER_STATUS_ONLINE, USER_STATUS_OFFLINE } = IM.BaseDefine.UserStatType;
const decodeKick = (b: Uint8Array): IM.Login.IMKickUser => IM.Login.IMKickUser.decode(b);

let redisCluster: PrivateRedisCluster;
let redis: RedisCluster;
let cluster: Cluster;
let pool: Pool;
let gw1: GatewayInfo;
let gw2: GatewayInfo;
const open: TeamTalkClient[] = [];
let seq = 0;

async function newUser(prefix: string): Promise<{ name: string; id: number }> {
  const name = `rc_${prefix}${++seq}`;
  return { name, id: await createUser(pool, name) };
}

async function track(p: Promise<TeamTalkClient>): Promise<TeamTalkClient> {
  const c = await p;
  open.push(c);
  return c;
}

beforeAll(async () => {
  await prepareTestDatabase();
  redisCluster = await PrivateRedisCluster.start();
  const url = redisCluster.url();
  cluster = await Cluster.start({
    dbProxy: 1,
    route: 1,
    msg: 2,
    serviceEnv: {
      'db-proxy': {
        TT_REDIS_UNREAD_URL: url,
        TT_REDIS_GROUP_SET_URL: url,
        TT_REDIS_TOKEN_URL: url,
        TT_REDIS_SYNC_URL: url,
        TT_REDIS_GROUP_MEMBER_URL: url,
        TT_LOGIN_FAIL_LIMIT: String(FAIL_LIMIT),
        TT_UNREAD_EPOCH_CHECK_SEC: '1',
      },
      route: { TT_SESSION_REDIS_URL: url },
    },
  });
  [gw1, gw2] = cluster.gateways();
  pool = testDbPool();
  redis = new RedisCluster(redisCluster.ports.map((port) => ({ host: '127.0.0.1', port })));
}, 120_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await cluster?.stop();
  redis?.disconnect();
  await redisCluster?.destroy();
  await pool?.end();
});

it('the services start on the Redis Cluster: db-proxy set its unread epoch, route its registry epoch (in the registry slot)', async () => {
  await waitFor(async () => (await redis.get('tt_unread_epoch')) !== null, 10_000, { what: 'unread epoch in the cluster' });
  expect(await redis.get('{tt:sm:}epoch')).not.toBeNull();
});

it('login lockout: the limit script counts per (name, IP) in one slot; a right password is refused once locked', async () => {
  const user = await newUser('lock');
  const loginFrom = async (from: string, password: string): Promise<{ code: number; text: string }> => {
    const c = await TeamTalkClient.connect({ host: '127.0.0.1', port: gw1.tcpPort, localAddress: from, heartbeatMs: 0, requestTimeoutMs: 5000 });
    try {
      await c.login(user.name, password);
      return { code: 0, text: '' };
    } catch (err) {
      if (isClientError(err) && err.code === 'LOGIN_REFUSED') return { code: err.resultCode ?? -1, text: err.resultString ?? '' };
      throw err;
    } finally {
      c.close();
    }
  };
  for (let i = 0; i < FAIL_LIMIT; i++) expect(await loginFrom('127.0.0.2', `wrong${i}`)).toEqual({ code: VALIDATE_FAILED, text: 'wrong user name or password' });
  const locked = await loginFrom('127.0.0.2', DEMO_PASSWORD);
  expect(locked.code).toBe(VALIDATE_FAILED);
  expect(locked.text).toMatch(/too many failed logins/);
  expect((await loginFrom('127.0.0.3', DEMO_PASSWORD)).code).toBe(0);
  // The counters carry the IP as their hash tag.
  expect(Number(await redis.get('tt_login_fail_ip:{127.0.0.2}'))).toBeGreaterThanOrEqual(FAIL_LIMIT);
});

it('1:1 messages across gateways: unread counts on the cluster, cleared by the read ack', async () => {
  const sender = await newUser('s');
  const reader = await newUser('r');
  const s = await track(loggedIn(gw1, sender.name));
  for (const t of ['one', 'two', 'three']) await s.sendText(reader.id, t);
  const r = await track(loggedIn(gw2, reader.name));
  const unread = await r.unreadCounts();
  expect(unread.totalCnt).toBe(3);
  expect(unread.unreadinfoList).toHaveLength(1);
  expect(unread.unreadinfoList[0]).toMatchObject({ sessionId: sender.id, sessionType: SINGLE, unreadCnt: 3 });
  expect(await redis.hget(`unread_${reader.id}`, String(sender.id))).toBe('3');
  r.readAck(SINGLE, sender.id, 3);
  await waitFor(async () => (await r.unreadCounts()).totalCnt === 0, 5000, { what: 'unread cleared by the read ack' });
  expect(await redis.hget(`unread_${reader.id}`, String(sender.id))).toBeNull();
  // The conversation index (sync instance) kept both users' conversation.
  expect((await r.recentSessions()).contactSessionList.map((x) => x.sessionId)).toContain(sender.id);
});

it('group messages: the group count and members snapshots share the {gid} slot; unread per member, cleared by a read ack', async () => {
  const owner = await newUser('go');
  const a = await newUser('ga');
  const b = await newUser('gb');
  const o = await track(loggedIn(gw1, owner.name));
  const gid = (await o.groups.createGroup('cluster team', '', [owner.id, a.id, b.id])).groupId;
  expect(gid).toBeGreaterThan(0);
  const first = await o.groups.sendGroupText(gid, 'g1');
  const second = await o.groups.sendGroupText(gid, 'g2');
  expect(second.msgId).toBe(first.msgId + 1);
  const ca = await track(loggedIn(gw2, a.name));
  const groupUnread = async (c: TeamTalkClient): Promise<number> =>
    (await c.unreadCounts()).unreadinfoList.find((u) => u.sessionType === GROUP && u.sessionId === gid)?.unreadCnt ?? 0;
  expect(await groupUnread(ca)).toBe(2);
  expect(await groupUnread(o)).toBe(0);
  expect(await redis.hget(`{${gid}}_im_group_msg`, 'count')).toBe('2');
  ca.readAck(GROUP, gid, second.msgId);
  await waitFor(async () => (await groupUnread(ca)) === 0, 5000, { what: 'group unread cleared by the read ack' });
  const cb = await track(loggedIn(gw1, b.name, ANDROID));
  expect(await groupUnread(cb)).toBe(2);
  // Member changes reset snapshots in one script per group: a member added now has nothing unread.
  const d = await newUser('gd');
  await o.groups.changeGroupMembers(gid, 'add', [d.id]);
  const cd = await track(loggedIn(gw2, d.name));
  expect(await groupUnread(cd)).toBe(0);
  await o.groups.sendGroupText(gid, 'g3');
  expect(await groupUnread(cd)).toBe(1);
  expect(await groupUnread(ca)).toBe(1);
  // A member's device token (the token instance's script reaches keys in the {device} slot).
  await cb.deviceToken('cluster-device-token');
  // The gateway answers before db-proxy has stored it.
  await waitFor(async () => (await redis.get(`{device}_${b.id}`)) === 'android:cluster-device-token', 5000, { what: 'device token stored' });
  expect(await redis.get('{device}_cluster-device-token')).toBe(String(b.id));
});

it('session registry: a PC login on the other gateway kicks the first; logout leaves the user offline', async () => {
  const user = await newUser('k');
  const watcher = await track(loggedIn(gw2, (await newUser('w')).name));
  const first = await track(TeamTalkClient.connect({ host: '127.0.0.1', port: gw1.tcpPort, heartbeatMs: 0, requestTimeoutMs: 5000 }));
  const firstLog = new PushLog(first);
  await first.login(user.name, DEMO_PASSWORD, { clientType: PC });
  expect((await watcher.usersStatus([user.id]))[0]?.status).toBe(USER_STATUS_ONLINE);
  const second = await track(loggedIn(gw2, user.name, PC));
  expect(await firstLog.next(CID.CID_LOGIN_KICK_USER, decodeKick)).toMatchObject({ userId: user.id, kickReason: IM.BaseDefine.KickReasonType.KICK_REASON_DUPLICATE_USER });
  expect(await closedWithin(first, 3000)).toBe(true);
  // The registry holds exactly the second connection, in the registry's one slot.
  await waitFor(async () => Object.keys(await redis.hgetall(`{tt:sm:}user:${user.id}`)).length === 1, 5000, { what: 'one session left' });
  expect(Object.keys(await redis.hgetall(`{tt:sm:}user:${user.id}`))[0]).toMatch(new RegExp(`^${gw2.name}@`));
  await second.logout();
  await waitFor(async () => (await redis.exists(`{tt:sm:}user:${user.id}`)) === 0, 5000, { what: 'session removed at logout' });
  expect((await watcher.usersStatus([user.id]))[0]?.status).toBe(USER_STATUS_OFFLINE);
});

it('a forced rebuild epoch (the move to a cluster, OPERATIONS.md 4.1) rebuilds 1:1 and group unread from MySQL into the tagged keys', async () => {
  const sender = await newUser('es');
  const reader = await newUser('er');
  const s = await track(loggedIn(gw1, sender.name));
  const r = await track(loggedIn(gw2, reader.name));
  const gid = (await s.groups.createGroup('rebuild team', '', [sender.id, reader.id])).groupId;
  const groupUnread = async (): Promise<number> =>
    (await r.unreadCounts()).unreadinfoList.find((u) => u.sessionType === GROUP && u.sessionId === gid)?.unreadCnt ?? 0;
  await s.sendText(reader.id, 'm1');
  const read1 = await s.sendText(reader.id, 'm2');
  const readG = await s.groups.sendGroupText(gid, 'g1');
  // The cluster started empty, so this epoch rebuilds each user once, at their first unread read: do
  // that before the acks (a rebuild racing an ack may write back the count it read before the ack).
  expect((await r.unreadCounts()).totalCnt).toBe(3);
  // Read cursors: everything so far is read.
  r.readAck(SINGLE, sender.id, read1.msgId);
  r.readAck(GROUP, gid, readG.msgId);
  await waitFor(async () => (await r.unreadCounts()).totalCnt === 0, 5000, { what: 'all read' });
  for (const t of ['m3', 'm4']) await s.sendText(reader.id, t);
  await s.groups.sendGroupText(gid, 'g2');
  expect((await r.unreadCounts()).totalCnt).toBe(3);
  // An empty cluster: the counters are gone, and the operator marks the epoch as a loss.
  await redis.del(`unread_${reader.id}`);
  await redis.del(`{${gid}}_im_group_msg`, `${reader.id}_{${gid}}_im_user_group`, `${sender.id}_{${gid}}_im_user_group`);
  expect((await r.unreadCounts()).totalCnt).toBe(0);
  await redis.set('tt_unread_epoch', `rebuild:e2e-${Date.now()}`);
  await waitFor(async () => (await r.unreadCounts()).totalCnt === 3, 10_000, { what: 'unread rebuilt after the forced epoch' });
  expect(await redis.hget(`unread_${reader.id}`, String(sender.id))).toBe('2');
  expect(await groupUnread()).toBe(1);
  expect(await redis.hget(`{${gid}}_im_group_msg`, 'count')).not.toBeNull();
});

it('after all flows: no Redis command of db-proxy or route failed, none was refused for spanning slots, and every master holds keys', async () => {
  for (const inst of cluster.instanceInfo().filter((i) => i.service === 'db-proxy' || i.service === 'route')) {
    const text = await (await fetch(`http://127.0.0.1:${inst.metricsPort ?? 0}/metrics`)).text();
    const failures = text.split('\n').filter((line) => line.startsWith('tt_redis_errors_total{') && !line.endsWith(' 0'));
    expect({ instance: inst.name, failures }).toEqual({ instance: inst.name, failures: [] });
    // ioredis refuses a pipeline spanning nodes before sending it (not counted above); the stores log that failure.
    const slotErrors = cluster.logTail(inst.name, 100_000).split('\n').filter((line) => /CROSSSLOT|same slot|slots allocation group|non local key/.test(line));
    expect({ instance: inst.name, slotErrors }).toEqual({ instance: inst.name, slotErrors: [] });
  }
  expect(await Promise.all(redis.nodes('master').map((n) => n.dbsize()))).not.toContain(0);
});
