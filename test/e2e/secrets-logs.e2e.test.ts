// Logs never contain passwords, tokens or message bodies (docs/SECURITY.md,
// secrets and logs): real flows on a real cluster, a failing MySQL store
// included (mysql2 puts the whole statement on err.sql), then every log line
// the services wrote is searched for the values the test used.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPool, type Pool } from 'mysql2/promise';
import { prepareTestDatabase, testConfig } from '@tiertalk/testkit';
import { ANDROID, connect, createUser, md5hex, nextMessage, userId } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(90_000);

const PASSWORD = 'Pw-3f9c1e-correct';
const WRONG_PASSWORD = 'Pw-77ab0d-wrong';
const SALT = 'Lg7q';
const BODY_STORED = 'body-5d21e8-delivered';
const BODY_FAILED = 'body-c4a9f0-store-fails';
const DEVICE_TOKEN = 'devtok-0e6b93b1c2d4';
const STORE_DEADLINE_MS = 2_000;

let dbUrl: string;
let pool: Pool;
let logDir: string;

beforeAll(async () => {
  // A database of its own: the test adds a trigger that makes message inserts fail.
  dbUrl = await prepareTestDatabase(`${testConfig.mysqlTestDb}_logs`);
  pool = createPool({ uri: dbUrl, connectionLimit: 2 });
  logDir = mkdtempSync(path.join(tmpdir(), 'tt-logs-'));
});

// A function spec: read after the beforeAll above made the database and the log directory.
const suite = e2eSuite(
  'secrets-logs',
  () => ({
    logDir,
    env: { TT_LOG_LEVEL: 'debug' },
    serviceEnv: {
      'db-proxy': { TT_MYSQL_MASTER_URL: dbUrl, TT_MYSQL_REPLICA_URL: dbUrl },
      msg: { TT_STORE_DEADLINE_MS: String(STORE_DEADLINE_MS) },
    },
  }),
  // The test stops the cluster to read complete logs: its sessions stay in route's registry.
  { waitForLogouts: false },
);

// Declared after e2eSuite, so it runs after the suite stopped the cluster.
afterAll(async () => {
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
  const [gw] = suite.cluster.gateways();
  const senderId = await createUser(pool, 'logcheck', PASSWORD, SALT);
  const bobId = await userId(pool, 'bob');

  // A refused login, then a good one; a device token.
  const wrong = suite.track(await connect(gw));
  await expect(wrong.login('logcheck', WRONG_PASSWORD)).rejects.toThrow();
  const sender = suite.track(await connect(gw));
  const bob = suite.track(await connect(gw));
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

  await suite.cluster.stop();
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
