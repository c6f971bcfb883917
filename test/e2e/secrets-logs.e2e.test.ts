// Logs never contain passwords, tokens or message bodies (docs/SECURITY.md,
// secrets and logs): real flows on a real cluster, a failing MySQL store
// included (mysql2 puts the whole statement on err.sql), then every log line
// the services wrote is searched for the values the test used.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPool, type Pool } from 'mysql2/promise';
import type { TeamTalkClient } from '@tiertalk/client';
import { Cluster, flushTestRedis, prepareTestDatabase, testConfig } from '@tiertalk/testkit';
import { ANDROID, connect, createUser, md5hex, nextMessage, userId } from './helpers';

jest.setTimeout(90_000);

const PASSWORD = 'Pw-3f9c1e-correct';
const WRONG_PASSWORD = 'Pw-77ab0d-wrong';
const SALT = 'Lg7q';
const BODY_STORED = 'body-5d21e8-delivered';
const BODY_FAILED = 'body-c4a9f0-store-fails';
const DEVICE_TOKEN = 'devtok-0e6b93b1c2d4';
const STORE_DEADLINE_MS = 2_000;

let cluster: Cluster;
let pool: Pool;
let logDir: string;
const open: TeamTalkClient[] = [];

beforeAll(async () => {
  // A database of its own: the test adds a trigger that makes message inserts fail.
  const url = await prepareTestDatabase(`${testConfig.mysqlTestDb}_logs`);
  await flushTestRedis();
  pool = createPool({ uri: url, connectionLimit: 2 });
  logDir = mkdtempSync(path.join(tmpdir(), 'tt-logs-'));
  cluster = await Cluster.start({
    logDir,
    env: { TT_LOG_LEVEL: 'debug' },
    serviceEnv: {
      'db-proxy': { TT_MYSQL_MASTER_URL: url, TT_MYSQL_REPLICA_URL: url },
      msg: { TT_STORE_DEADLINE_MS: String(STORE_DEADLINE_MS) },
    },
  });
});

afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await cluster?.stop();
  await pool?.end();
  if (logDir) rmSync(logDir, { recursive: true, force: true });
});

function allLogs(): string {
  return readdirSync(logDir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => readFileSync(path.join(logDir, f), 'utf8'))
    .join('\n');
}

it('no password, token or message body reaches the logs, not even from a failing MySQL store', async () => {
  const [gw] = cluster.gateways();
  const senderId = await createUser(pool, 'logcheck', PASSWORD, SALT);
  const bobId = await userId(pool, 'bob');

  // A refused login, then a good one; a device token.
  const wrong = await connect(gw);
  open.push(wrong);
  await expect(wrong.login('logcheck', WRONG_PASSWORD)).rejects.toThrow();
  const sender = await connect(gw);
  const bob = await connect(gw);
  open.push(sender, bob);
  // A mobile client: TeamTalk takes device tokens from mobiles only.
  await sender.login('logcheck', PASSWORD, { clientType: ANDROID });
  await bob.login('bob', 'tiertalk');
  await sender.deviceToken(DEVICE_TOKEN);

  // A delivered message.
  const received = nextMessage(bob);
  expect((await sender.sendText(bobId, BODY_STORED)).msgId).toBeGreaterThan(0);
  expect(Buffer.from((await received).msgData).toString('utf8')).toBe(BODY_STORED);

  // A message whose INSERT fails in MySQL: the sender is refused once the store deadline passes.
  const [[relation]] = await pool.query<Array<{ id: number } & import('mysql2').RowDataPacket>>(
    'SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ?',
    [Math.min(senderId, bobId), Math.max(senderId, bobId)],
  );
  await pool.query(
    `CREATE TRIGGER tt_refuse_store BEFORE INSERT ON IMMessage_${relation.id % 8} FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'test: message store refused'`,
  );
  await expect(sender.sendText(bobId, BODY_FAILED, { timeoutMs: STORE_DEADLINE_MS + 5_000 })).rejects.toMatchObject({ code: 'NOT_STORED' });

  await cluster.stop();
  const logs = allLogs();
  // The flows ran and were logged (so the search below can find a leak)...
  expect(logs).toContain('login refused');
  expect(logs).toContain('device token stored');
  expect(logs).toContain('storing a message batch failed');
  expect(logs).toContain('test: message store refused');
  // ...and none of the secrets or bodies is in any line.
  for (const secret of [PASSWORD, md5hex(PASSWORD), md5hex(md5hex(PASSWORD) + SALT), WRONG_PASSWORD, md5hex(WRONG_PASSWORD), DEVICE_TOKEN, BODY_STORED, BODY_FAILED]) {
    expect({ secret, found: logs.includes(secret) }).toEqual({ secret, found: false });
  }
});
