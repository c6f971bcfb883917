// Storage hardening (issue 11 part 5) against real, private servers:
// - a MariaDB whose global sql_mode has NO_BACKSLASH_ESCAPES (client-side
//   escaping would let a message body inject SQL there), set up with
//   deploy/sql/grants.sql: migrations run as tiertalk_migrate, db-proxy as the
//   least-privilege tiertalk account (SELECT/INSERT/UPDATE/DELETE only);
// - a Redis that refuses unauthenticated clients; every service reaches it as
//   an ACL user given in its redis:// URL.
// Hostile bodies sent by a real client come back byte-identical from history,
// and the schema is intact.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createConnection, createPool, Pool, RowDataPacket } from 'mysql2/promise';
import { ClientError, TeamTalkClient } from '@tiertalk/client';
import { CID, IM } from '@tiertalk/proto';
import { Cluster, GatewayInfo, MIGRATE_MAIN, PrivateMariaDb, PrivateRedis, repoRoot } from '@tiertalk/testkit';
import { loggedIn, userId } from './helpers';

jest.setTimeout(120_000);

const run = promisify(execFile);
const SINGLE = IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE;
const DATABASE = 'teamtalk_hardening';
const RUNTIME_PW = 'rt-Secret-1';
const MIGRATE_PW = 'mig-Secret-2';
const REDIS_USER = 'tiertalk';
const REDIS_PW = 'redis-Secret-3';
const AUDIO_MAX = 4096;
const FRAME_BYTES = 16 * 1024;

let mariadb: PrivateMariaDb;
let redisServer: PrivateRedis;
let cluster: Cluster;
let root: Pool;
let gw: GatewayInfo;
const open: TeamTalkClient[] = [];

/** deploy/sql/grants.sql as an operator runs it: the passwords set first, piped into the mariadb client. */
async function applyGrants(port: number): Promise<void> {
  const sql = `SET @tt_runtime_password = '${RUNTIME_PW}', @tt_migrate_password = '${MIGRATE_PW}', @tt_database = '${DATABASE}';\n` +
    readFileSync(path.join(repoRoot, 'deploy', 'sql', 'grants.sql'), 'utf8');
  await new Promise<void>((resolve, reject) => {
    const child = spawn('/usr/bin/mariadb', ['--no-defaults', '-uroot', '-h127.0.0.1', `-P${port}`], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`grants.sql failed (${code}): ${stderr}`))));
    child.stdin.end(sql);
  });
}

async function tables(): Promise<string[]> {
  const [rows] = await root.query<RowDataPacket[]>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name', [DATABASE]);
  return rows.map((r) => String(r.t));
}

beforeAll(async () => {
  [mariadb, redisServer] = await Promise.all([PrivateMariaDb.start(), PrivateRedis.start()]);
  const admin = await createConnection(mariadb.url());
  await admin.query("SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'");
  await admin.end();
  await applyGrants(mariadb.port);
  const host = `127.0.0.1:${mariadb.port}`;
  await run(process.execPath, [MIGRATE_MAIN, '--seed-demo'], {
    cwd: repoRoot,
    env: { ...process.env, TT_MYSQL_MIGRATE_URL: `mysql://tiertalk_migrate:${MIGRATE_PW}@${host}/${DATABASE}`, TT_MYSQL_MASTER_URL: '' },
    timeout: 60_000,
  });
  root = createPool({ uri: mariadb.url(DATABASE), connectionLimit: 2 });

  // Redis: an ACL user for the services, the default (unauthenticated) user off.
  const r = new Redis(redisServer.url());
  await r.call('ACL', 'SETUSER', REDIS_USER, 'on', `>${REDIS_PW}`, '~*', '&*', '+@all', '-@dangerous', '+info');
  await r.call('ACL', 'SETUSER', 'default', 'off');
  r.disconnect();
  const redisUrl = (db: number): string => `redis://${REDIS_USER}:${REDIS_PW}@127.0.0.1:${redisServer.port}/${db}`;

  const mysqlUrl = `mysql://tiertalk:${RUNTIME_PW}@${host}/${DATABASE}`;
  cluster = await Cluster.start({
    dbProxy: 1,
    route: 1,
    msg: 1,
    serviceEnv: {
      'db-proxy': {
        TT_MYSQL_MASTER_URL: mysqlUrl,
        TT_MYSQL_REPLICA_URL: mysqlUrl,
        TT_REDIS_UNREAD_URL: redisUrl(1),
        TT_REDIS_GROUP_SET_URL: redisUrl(1),
        TT_REDIS_TOKEN_URL: redisUrl(1),
        TT_REDIS_GROUP_MEMBER_URL: redisUrl(1),
        TT_REDIS_SYNC_URL: redisUrl(2),
        TT_AUDIO_MAX_BYTES: String(AUDIO_MAX),
      },
      route: { TT_SESSION_REDIS_URL: redisUrl(3) },
      // Small frames, so a directory of a few hundred users needs several AllUsers frames.
      msg: { TT_MAX_FRAME_BYTES: String(FRAME_BYTES) },
    },
  });
  [gw] = cluster.gateways();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await cluster?.stop();
  await root?.end();
  await Promise.allSettled([mariadb?.destroy(), redisServer?.destroy()]);
});

async function track(p: Promise<TeamTalkClient>): Promise<TeamTalkClient> {
  const c = await p;
  open.push(c);
  return c;
}

it('the servers are set up as the test means: NO_BACKSLASH_ESCAPES globally, no unauthenticated Redis, db-proxy without DDL rights', async () => {
  const [mode] = await root.query<RowDataPacket[]>('SELECT @@GLOBAL.sql_mode AS m');
  expect(String(mode[0].m)).toContain('NO_BACKSLASH_ESCAPES');
  // No ready check (INFO) on connect: the first command is ours.
  const anonymous = new Redis(redisServer.url(0), { lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  await anonymous.connect();
  await expect(anonymous.get('x')).rejects.toThrow(/NOAUTH/);
  anonymous.disconnect();
  const runtime = await createConnection(`mysql://tiertalk:${RUNTIME_PW}@127.0.0.1:${mariadb.port}/${DATABASE}`);
  await expect(runtime.query('DROP TABLE IMUser')).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
  await expect(runtime.query('CREATE TABLE x (id int)')).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
  await runtime.end();
});

it('hostile text bodies are stored and read back byte-identical; the schema is intact', async () => {
  const before = await tables();
  const alice = await track(loggedIn(gw, 'alice'));
  const bob = await track(loggedIn(gw, 'bob'));
  const bobId = await userId(root, 'bob');
  const aliceId = await userId(root, 'alice');
  const bodies = [
    "it's",
    "\\'); DROP TABLE IMUser; -- ",
    "'; DROP TABLE IMMessage_0; --",
    '\\',
    "\\'",
    "x\\', 1, 1, 1, 1); DELETE FROM IMUser; -- ",
    '"double" `back` $$ %s ?',
    'nul\u0000inside',
    '\u0000',
    'emoji 😀 and 中文 \r\n\t',
    "0x27 \\x27 \\u0027 \\0 \\Z \\b \\' \\\" ''",
  ];
  const ids: number[] = [];
  for (const body of bodies) ids.push((await alice.sendText(bobId, body)).msgId);
  expect(ids.every((id) => id > 0)).toBe(true);

  const page = await bob.messageList(SINGLE, aliceId, 0, 40);
  const got = new Map(page.msgList.map((m) => [m.msgId, Buffer.from(m.msgData)]));
  bodies.forEach((body, i) => expect(got.get(ids[i])).toEqual(Buffer.from(body, 'utf8')));
  expect(await tables()).toEqual(before);
  const [users] = await root.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMUser');
  // The four demo users and the send API's system sender (migration 0011).
  expect(Number(users[0].n)).toBe(5);
});

it('audio bytes of every value (invalid UTF-8, NUL, quotes, backslashes) round-trip; invalid UTF-8 text is refused, not stored', async () => {
  const alice = await track(loggedIn(gw, 'alice'));
  const bob = await track(loggedIn(gw, 'bob'));
  const bobId = await userId(root, 'bob');
  const aliceId = await userId(root, 'alice');
  const bytes = Buffer.concat([Buffer.from([0x00, 0x27, 0x5c, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x5c, 0x27]), Buffer.from(Array.from({ length: 256 }, (_, i) => i))]);
  const sent = await alice.sendAudio(bobId, 7, bytes);
  expect(sent.msgId).toBeGreaterThan(0);

  await expect(alice.sendText(bobId, Buffer.from([0x27, 0xff, 0x5c, 0x27]))).rejects.toMatchObject({ code: 'NOT_STORED' });
  // Later than the refused one: once it is acked, the refused one was handled.
  const marker = await alice.sendText(bobId, 'after the refused one');

  const page = await bob.messageList(SINGLE, aliceId, 0, 40);
  const audio = page.msgList.find((m) => m.msgId === sent.msgId);
  expect(Buffer.from(audio?.msgData ?? [])).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 7]), bytes]));
  // The refused message took no id: the marker follows the audio directly.
  expect(marker.msgId).toBe(sent.msgId + 1);
});

it('audio above TT_AUDIO_MAX_BYTES is refused and stores nothing', async () => {
  const alice = await track(loggedIn(gw, 'alice'));
  const bobId = await userId(root, 'bob');
  const [before] = await root.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMAudio');
  await expect(alice.sendAudio(bobId, 3, Buffer.alloc(AUDIO_MAX + 1, 0x41))).rejects.toBeInstanceOf(ClientError);
  expect((await alice.sendAudio(bobId, 3, Buffer.alloc(AUDIO_MAX, 0x41))).msgId).toBeGreaterThan(0);
  const [after] = await root.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMAudio');
  expect(Number(after[0].n)).toBe(Number(before[0].n) + 1);
});

it('a message to a user id that does not exist is refused and creates no rows', async () => {
  const alice = await track(loggedIn(gw, 'alice'));
  const aliceId = await userId(root, 'alice');
  const ghost = 987_654;
  await expect(alice.sendText(ghost, 'hello nobody')).rejects.toMatchObject({ code: 'NOT_STORED' });
  const [rel] = await root.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMRelationShip WHERE smallId = ? OR bigId = ?', [ghost, ghost]);
  const [sessions] = await root.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMRecentSession WHERE userId = ? OR (userId = ? AND peerId = ?)', [ghost, aliceId, ghost]);
  expect(Number(rel[0].n)).toBe(0);
  expect(Number(sessions[0].n)).toBe(0);
  const r = new Redis(`redis://${REDIS_USER}:${REDIS_PW}@127.0.0.1:${redisServer.port}/1`);
  expect(await r.hgetall(`unread_${ghost}`)).toEqual({});
  r.disconnect();
});

it('AllUsers of a directory larger than a frame comes in several frames under the cap; only the last carries the new time', async () => {
  const extra = 600;
  const rows = Array.from({ length: extra }, (_, i) => [1, `dir${i}`, `dir${i}`, `Directory User ${i}`, 'x', 'salt', '', `dir${i}@example.org`, '', 1, 0, 1000, 2000 + i, 0, 'a signature']);
  await root.query(
    'INSERT INTO IMUser (sex, name, domain, nick, password, salt, phone, email, avatar, departId, status, created, updated, push_shield_status, sign_info) VALUES ?',
    [rows],
  );
  const alice = await track(loggedIn(gw, 'alice'));
  const frames: IM.Buddy.IMAllUserRsp[] = [];
  const sizes: number[] = [];
  alice.on('pdu', (p: { commandId: number; seqNum: number; body: Uint8Array }) => {
    if (p.commandId !== CID.CID_BUDDY_LIST_ALL_USER_RESPONSE) return;
    sizes.push(p.body.length);
    frames.push(IM.Buddy.IMAllUserRsp.decode(p.body));
  });
  const all = await alice.allUsers(0);
  const [count] = await root.query<RowDataPacket[]>('SELECT COUNT(*) AS n, MAX(updated) AS latest FROM IMUser');
  expect(new Set(all.userList.map((u) => u.userId)).size).toBe(Number(count[0].n));
  expect(all.latestUpdateTime).toBe(Number(count[0].latest));

  expect(frames.length).toBeGreaterThan(2);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(FRAME_BYTES - 16);
  expect(frames.slice(0, -1).every((f) => f.latestUpdateTime === 0 && f.userList.length > 0)).toBe(true);
  expect(frames.flatMap((f) => f.userList).length).toBe(all.userList.length);
  expect(frames[frames.length - 1].latestUpdateTime).toBe(Number(count[0].latest));

  // Changed since the last frame's time: only the newest (TeamTalk's `updated >=`), in one frame.
  frames.length = 0;
  const again = await alice.allUsers(all.latestUpdateTime);
  expect(again.userList.length).toBeLessThan(10);
  expect(again.latestUpdateTime).toBe(all.latestUpdateTime);
  expect(frames).toHaveLength(1);
});
