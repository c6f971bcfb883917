// Message shards on two MySQL servers (TT_MYSQL_SHARDS, docs/OPERATIONS.md
// "Message shards on several servers"): the machine's MariaDB holds everything
// and the even shards, a private MariaDB (started here, its own datadir and
// port) the odd shards IMMessage_1/3/5/7 and IMGroupMessage_1/3/5/7. 1:1 and
// group conversations on both servers are sent, ACKed, delivered, counted
// unread and read back as history; each row sits on the server the map names
// and nowhere else. Then the shard server fails: its sends get an error answer,
// the other shards keep working, and after its restart sends are ACKed again
// without duplicates, also when its rows were committed but the master's part
// was not (the retry completes the stored message instead of storing it twice).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import { isClientError, SessionType, TeamTalkClient } from '@tiertalk/client';
import type { ReadinessReport } from '@tiertalk/health';
import { IM } from '@tiertalk/proto';
import { Cluster, GatewayInfo, MIGRATE_MAIN, PrivateMariaDb, flushTestRedis, prepareTestDatabase, repoRoot, testConfig, waitFor } from '@tiertalk/testkit';
import { createUser, DEMO_PASSWORD, PC } from './helpers';
import { parseExposition, sumOf } from './prometheus-text';

jest.setTimeout(180_000);

const run = promisify(execFile);
const SINGLE = SessionType.SESSION_TYPE_SINGLE;
const GROUP = SessionType.SESSION_TYPE_GROUP;
const SHARD_DB = 'tt_shards';
const ODD = [1, 3, 5, 7];
// How long the gateway keeps retrying a store before it answers msg_id 0 (NOT_STORED).
const STORE_DEADLINE_MS = 6000;
// db-proxy gives up on a shard server that does not answer after this (TT_MYSQL_SHARD_TIMEOUT_MS).
const SHARD_TIMEOUT_MS = 1000;

let shardServer: PrivateMariaDb;
let cluster: Cluster;
let main: Pool;
let shard: Pool;
let gw: GatewayInfo;
let metricsPort: number;
const open: TeamTalkClient[] = [];
let userSeq = 0;

interface User {
  name: string;
  id: number;
}

const onShardServer = (conversationId: number): boolean => ODD.includes(conversationId % 8);
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

async function newUser(): Promise<User> {
  const name = `sh${++userSeq}`;
  return { name, id: await createUser(main, name) };
}

async function online(u: User): Promise<TeamTalkClient> {
  const c = await TeamTalkClient.connect({ host: '127.0.0.1', port: gw.tcpPort, heartbeatMs: 0, requestTimeoutMs: STORE_DEADLINE_MS + 10_000 });
  open.push(c);
  await c.login(u.name, DEMO_PASSWORD, { clientType: PC });
  return c;
}

async function relationOf(a: number, b: number): Promise<number> {
  const [rows] = await main.query<RowDataPacket[]>('SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ? AND status = 0', [Math.min(a, b), Math.max(a, b)]);
  if (rows.length === 0) throw new Error(`no relation ${a}/${b}`);
  return Number(rows[0].id);
}

/** The 1:1 rows of a relation on one server, oldest first. */
async function messageRows(pool: Pool, relateId: number): Promise<Array<{ msgId: number; content: string }>> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT msgId, content FROM IMMessage_${relateId % 8} WHERE relateId = ? ORDER BY msgId`, [relateId]);
  return rows.map((r) => ({ msgId: Number(r.msgId), content: String(r.content) }));
}

async function groupRows(pool: Pool, groupId: number): Promise<Array<{ msgId: number; content: string }>> {
  const [rows] = await pool.query<RowDataPacket[]>(`SELECT msgId, content FROM IMGroupMessage_${groupId % 8} WHERE groupId = ? ORDER BY msgId`, [groupId]);
  return rows.map((r) => ({ msgId: Number(r.msgId), content: String(r.content) }));
}

/** Two relations of a new sender, one on each server: [on the shard server, on the master]. */
async function relationsOnBothServers(): Promise<{ s: TeamTalkClient; toShard: { r: User; relateId: number }; toMain: { r: User; relateId: number } }> {
  const sender = await newUser();
  const [r1, r2] = [await newUser(), await newUser()];
  const s = await online(sender);
  // Consecutive relation ids: one on each server.
  await s.sendText(r1.id, `hello ${r1.name}`);
  await s.sendText(r2.id, `hello ${r2.name}`);
  const [a, b] = await Promise.all([r1, r2].map(async (r) => ({ r, relateId: await relationOf(sender.id, r.id) })));
  const [toShard, toMain] = onShardServer(a.relateId) ? [a, b] : [b, a];
  expect([onShardServer(toShard.relateId), onShardServer(toMain.relateId)]).toEqual([true, false]);
  return { s, toShard, toMain };
}

/** Rows in the shard tables a server must not hold (the other server's shards). */
async function strayRows(pool: Pool, shards: readonly number[]): Promise<number> {
  let n = 0;
  for (const s of shards) {
    const [rows] = await pool.query<RowDataPacket[]>(`SELECT (SELECT COUNT(*) FROM IMMessage_${s}) + (SELECT COUNT(*) FROM IMGroupMessage_${s}) AS n`);
    n += Number(rows[0].n);
  }
  return n;
}

/** db-proxy's failed commits so far (tt_store_commit_duration_seconds, outcome failed). */
async function failedCommits(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  return sumOf(parseExposition(await res.text()), 'tt_store_commit_duration_seconds_count', { outcome: 'failed' });
}

async function readyz(): Promise<{ status: number; report: ReadinessReport }> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
  return { status: res.status, report: (await res.json()) as ReadinessReport };
}

/** Creates groups (owner + members) until one lands on each server; returns [main's, shard server's]. */
async function groupsOnBothServers(owner: TeamTalkClient, members: readonly User[]): Promise<[number, number]> {
  let onMain: number | undefined;
  let onShard: number | undefined;
  for (let i = 0; i < 6 && (onMain === undefined || onShard === undefined); i++) {
    const { groupId } = await owner.groups.createGroup(`g${i}`, '', [owner.userId ?? 0, ...members.map((m) => m.id)]);
    if (onShardServer(groupId)) onShard ??= groupId;
    else onMain ??= groupId;
  }
  if (onMain === undefined || onShard === undefined) throw new Error('no groups on both servers');
  return [onMain, onShard];
}

const SHARD_CHECK = (): string => `mysql:shards@127.0.0.1:${shardServer.port}/${SHARD_DB}`;

beforeAll(async () => {
  shardServer = await PrivateMariaDb.start();
  const shardMap = `${ODD.join(',')}=${shardServer.url(SHARD_DB)}`;
  await prepareTestDatabase();
  await flushTestRedis();
  // The real migration CLI creates the shard server's database and tables from the same map db-proxy gets.
  const { stdout } = await run(process.execPath, [MIGRATE_MAIN], {
    cwd: repoRoot,
    env: { ...process.env, TT_MYSQL_MASTER_URL: testConfig.mysqlTestUrl, TT_MYSQL_SHARDS: shardMap },
  });
  expect(stdout).toContain(`127.0.0.1:${shardServer.port}/${SHARD_DB}: applied 0001_teamtalk_schema`);
  cluster = await Cluster.start({
    dbProxy: 1,
    route: 1,
    msg: 1,
    serviceEnv: {
      'db-proxy': { TT_MYSQL_SHARDS: shardMap, TT_HEALTH_INTERVAL_MS: '500', TT_MYSQL_SHARD_TIMEOUT_MS: String(SHARD_TIMEOUT_MS) },
      msg: { TT_STORE_DEADLINE_MS: String(STORE_DEADLINE_MS) },
    },
  });
  [gw] = cluster.gateways();
  const dbProxy = cluster.instanceInfo().find((i) => i.service === 'db-proxy');
  if (dbProxy?.metricsPort === undefined) throw new Error('db-proxy has no metrics port');
  metricsPort = dbProxy.metricsPort;
  main = createPool({ uri: testConfig.mysqlTestUrl, connectionLimit: 2 });
  shard = createPool({ uri: shardServer.url(SHARD_DB), connectionLimit: 2 });
});

afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await cluster?.stop();
  await Promise.all([main?.end(), shard?.end()]);
  await shardServer?.destroy();
});

it('1:1 and group messages on both servers: ACKed, delivered, unread, history, each row on the server the map names', async () => {
  expect((await readyz()).report.checks[SHARD_CHECK()]).toMatchObject({ ok: true, critical: true });
  const sender = await newUser();
  // Four receivers: their relations with the sender get consecutive ids, two on each server.
  const receivers = [await newUser(), await newUser(), await newUser(), await newUser()];
  const s = await online(sender);
  const live = await online(receivers[0]);
  const delivered: string[] = [];
  live.on('message', (m) => delivered.push(text(m.msgData)));

  const sent = new Map<number, Array<{ msgId: number; text: string }>>();
  for (const [i, r] of receivers.entries()) {
    for (let k = 1; k <= 3; k++) {
      const body = `to ${r.name} #${k}`;
      const ack = await s.sendText(r.id, body);
      const relateId = await relationOf(sender.id, r.id);
      sent.set(relateId, [...(sent.get(relateId) ?? []), { msgId: ack.msgId, text: body }]);
      if (i === 0) expect(ack.msgId).toBe(k);
    }
  }
  const relations = [...sent.keys()];
  expect(relations.filter(onShardServer)).toHaveLength(2);
  expect(relations.filter((r) => !onShardServer(r))).toHaveLength(2);
  await waitFor(() => delivered.length === 3, 5000, { what: 'the live receiver got its 3 messages' });
  expect(delivered).toEqual(['#1', '#2', '#3'].map((k) => `to ${receivers[0].name} ${k}`));

  for (const [relateId, messages] of sent) {
    const [holder, other] = onShardServer(relateId) ? [shard, main] : [main, shard];
    expect(await messageRows(holder, relateId)).toEqual(messages.map((m) => ({ msgId: m.msgId, content: m.text })));
    expect(await messageRows(other, relateId)).toEqual([]);
  }

  // Every receiver (offline ones log in now): unread 3 with the latest text, history and msg-by-id from its shard's server.
  for (const r of receivers) {
    const c = r === receivers[0] ? live : await online(r);
    const unread = await c.unreadCounts();
    expect(unread.unreadinfoList).toEqual([expect.objectContaining({ sessionId: sender.id, sessionType: SINGLE, unreadCnt: 3, latestMsgId: 3, latestMsgFromUserId: sender.id })]);
    expect(text(unread.unreadinfoList[0].latestMsgData)).toBe(`to ${r.name} #3`);
    const history = await c.messageList(SINGLE, sender.id, 0, 10);
    expect(history.msgList.map((m) => text(m.msgData))).toEqual(['#3', '#2', '#1'].map((k) => `to ${r.name} ${k}`));
    const byId = await c.messagesById(SINGLE, sender.id, [2]);
    expect(byId.msgList.map((m) => text(m.msgData))).toEqual([`to ${r.name} #2`]);
    expect(await c.latestMsgId(SINGLE, sender.id)).toBe(3);
  }

  // Groups: one on each server; a member online gets the messages, another counts them unread.
  const [members, offlineMember] = [receivers.slice(0, 2), receivers[3]];
  const [gMain, gShard] = await groupsOnBothServers(s, [...members, offlineMember]);
  const groupDelivered: string[] = [];
  live.on('message', (m) => {
    if (m.msgType === IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT) groupDelivered.push(text(m.msgData));
  });
  for (const g of [gMain, gShard]) {
    for (let k = 1; k <= 2; k++) expect((await s.groups.sendGroupText(g, `group ${g} #${k}`)).msgId).toBe(k);
  }
  await waitFor(() => groupDelivered.length === 4, 5000, { what: 'the online member got the 4 group messages' });
  expect(groupDelivered.sort()).toEqual([`group ${gMain} #1`, `group ${gMain} #2`, `group ${gShard} #1`, `group ${gShard} #2`].sort());
  for (const g of [gMain, gShard]) {
    const [holder, other] = onShardServer(g) ? [shard, main] : [main, shard];
    expect(await groupRows(holder, g)).toEqual([1, 2].map((k) => ({ msgId: k, content: `group ${g} #${k}` })));
    expect(await groupRows(other, g)).toEqual([]);
  }
  const reader = open.find((c) => c.userId === offlineMember.id);
  if (!reader) throw new Error('offline member not logged in');
  const unread = await reader.unreadCounts();
  for (const g of [gMain, gShard]) {
    const info = unread.unreadinfoList.find((u) => u.sessionType === GROUP && u.sessionId === g);
    expect(info).toMatchObject({ unreadCnt: 2, latestMsgId: 2, latestMsgFromUserId: sender.id });
    expect(text(info?.latestMsgData ?? new Uint8Array())).toBe(`group ${g} #2`);
    expect((await reader.messageList(GROUP, g, 0, 10)).msgList.map((m) => text(m.msgData))).toEqual([`group ${g} #2`, `group ${g} #1`]);
  }

  // Nothing of a shard on the server that does not hold it.
  expect(await strayRows(main, ODD)).toBe(0);
  expect(await strayRows(shard, [0, 2, 4, 6])).toBe(0);
});

it('shard server down: its sends get an error answer, the other shards keep working; after its restart sends are ACKed, no duplicates', async () => {
  const { s, toShard, toMain } = await relationsOnBothServers();
  await shardServer.stop();
  await waitFor(async () => (await readyz()).status === 503, 20_000, { what: 'db-proxy not ready while the shard server is down' });
  const down = await readyz();
  expect(down.report.reasons).toEqual([expect.stringContaining(`${SHARD_CHECK()}: `)]);

  const refused = s.sendText(toShard.r.id, 'while down').then(
    () => 'ACKed',
    (err: unknown) => (isClientError(err) ? err.code : String(err)),
  );
  // The other server's shard answers at once, while the first send is still being retried.
  expect((await s.sendText(toMain.r.id, 'main still works')).msgId).toBe(2);
  expect(await refused).toBe('NOT_STORED');

  await shardServer.start();
  await waitFor(async () => (await readyz()).status === 200, 20_000, { what: 'db-proxy ready once the shard server is back' });
  const after = await s.sendText(toShard.r.id, 'after restart');
  expect(after.msgId).toBeGreaterThan(1);
  expect((await messageRows(shard, toShard.relateId)).map((m) => m.content)).toEqual([`hello ${toShard.r.name}`, 'after restart']);
  expect((await messageRows(main, toMain.relateId)).map((m) => m.content)).toEqual([`hello ${toMain.r.name}`, 'main still works']);
  expect(await strayRows(main, ODD)).toBe(0);
});

it('rows committed on the shard server but not on the master: the retry completes that message instead of storing it again', async () => {
  const sender = await newUser();
  const receiver = await newUser();
  const s = await online(sender);
  // Find a receiver whose relation lands on the shard server.
  let peer = receiver;
  await s.sendText(peer.id, 'first');
  while (!onShardServer(await relationOf(sender.id, peer.id))) {
    peer = await newUser();
    await s.sendText(peer.id, 'first');
  }
  const relateId = await relationOf(sender.id, peer.id);
  const r = await online(peer);
  const got: string[] = [];
  r.on('message', (m) => got.push(text(m.msgData)));

  // The master's part of every commit fails (a real MySQL error) until the trigger goes.
  const failedBefore = await failedCommits();
  await main.query(
    "CREATE TRIGGER tt_refuse_outbox BEFORE INSERT ON IMCounterOutbox FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'test: master part refused'",
  );
  const answer = s.sendText(peer.id, 'exactly once');
  try {
    // The shard server committed the row (its first attempt); the master holds nothing of it yet.
    await waitFor(async () => (await messageRows(shard, relateId)).some((m) => m.content === 'exactly once'), 5000, { what: 'the row on the shard server' });
    await waitFor(async () => (await failedCommits()) > failedBefore, 5000, { what: "a failed commit: the master's part refused" });
    const [keys] = await main.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMMsgIdempotency WHERE fromId = ? AND toId = ?', [sender.id, peer.id]);
    expect(Number(keys[0].n)).toBe(1); // only 'first'
  } finally {
    await main.query('DROP TRIGGER IF EXISTS tt_refuse_outbox');
  }
  // The gateway retries with the same idempotency key: db-proxy finds the message on the shard server and completes it.
  const ack = await answer;
  const rows = await messageRows(shard, relateId);
  expect(rows.map((m) => m.content)).toEqual(['first', 'exactly once']);
  expect(rows[1].msgId).toBe(ack.msgId);
  await waitFor(() => got.includes('exactly once'), 5000, { what: 'delivery of the completed message' });
  expect(got.filter((t) => t === 'exactly once')).toHaveLength(1);
  const unread = await r.unreadCounts();
  expect(unread.unreadinfoList).toEqual([expect.objectContaining({ sessionId: sender.id, unreadCnt: 2, latestMsgId: ack.msgId })]);
});

it('shard server hung (SIGSTOP): the other shards are stored without waiting for it; the unanswered send is never stored half or twice', async () => {
  const { s, toShard, toMain } = await relationsOnBothServers();
  shardServer.pause();
  try {
    let hungAnswer: string | undefined;
    const hung = s.sendText(toShard.r.id, 'while hung').then(
      () => (hungAnswer = 'ACKed'),
      (err: unknown) => (hungAnswer = isClientError(err) ? err.code : String(err)),
    );
    // Behind it in db-proxy's queue, a message for the master is ACKed while the hung send still waits for its answer.
    expect((await s.sendText(toMain.r.id, 'main while hung')).msgId).toBe(2);
    expect(hungAnswer).toBeUndefined();
    await hung;
    expect(hungAnswer).toBe('NOT_STORED');
  } finally {
    shardServer.resume();
  }
  await waitFor(async () => (await readyz()).status === 200, 20_000, { what: 'db-proxy ready once the shard server answers again' });
  expect((await s.sendText(toShard.r.id, 'after resume')).msgId).toBeGreaterThan(1);
  const rows = await messageRows(shard, toShard.relateId);
  expect(rows.map((m) => m.content).filter((c) => c !== 'while hung')).toEqual([`hello ${toShard.r.name}`, 'after resume']);
  // The gateway may still have had a retry of it queued in db-proxy when its deadline answered the client: that
  // one is stored whole once the server answers (docs/RELIABILITY.md: a resend with the same key gets its id).
  // Whichever happened, it is there at most once, and never half: a row on the shard server has its master part.
  const late = rows.filter((m) => m.content === 'while hung');
  expect(late.length).toBeLessThanOrEqual(1);
  if (late.length === 1) {
    const [keys] = await main.query<RowDataPacket[]>('SELECT msgId FROM IMMsgIdempotency WHERE toId = ? AND msgId = ?', [toShard.r.id, late[0].msgId]);
    expect(keys).toHaveLength(1);
  }
  expect((await messageRows(main, toMain.relateId)).map((m) => m.content)).toEqual([`hello ${toMain.r.name}`, 'main while hung']);
});
