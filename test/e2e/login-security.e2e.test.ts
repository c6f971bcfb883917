// Login security through a real gateway with the SDK (issue 11): TeamTalk's
// result codes, the client's address reaching db-proxy's lockout, a stranger
// unable to lock out the real user, md5 passwords upgraded to argon2id.
import { TeamTalkClient, isClientError } from '@tiertalk/client';
import { IM } from '@tiertalk/proto';
import { waitFor } from '@tiertalk/testkit';
import type { RowDataPacket } from 'mysql2/promise';
import { createUser, DEMO_PASSWORD } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const FAIL_LIMIT = 5;
const suite = e2eSuite('login-security', { dbProxy: 2, route: 1, msg: 1, login: false, serviceEnv: { 'db-proxy': { TT_LOGIN_FAIL_LIMIT: String(FAIL_LIMIT) } } });

/** One login on a fresh connection from `from` (a 127.0.0.x address); the IMLoginRes the client saw. */
async function loginFrom(from: string, user: string, password: string): Promise<{ code: number; text: string }> {
  const [gw] = suite.cluster.gateways();
  const c = await TeamTalkClient.connect({ host: '127.0.0.1', port: gw.tcpPort, localAddress: from, heartbeatMs: 0, requestTimeoutMs: 5000 });
  try {
    await c.login(user, password);
    return { code: 0, text: '' };
  } catch (err) {
    if (isClientError(err) && err.code === 'LOGIN_REFUSED') return { code: err.resultCode ?? -1, text: err.resultString ?? '' };
    throw err;
  } finally {
    c.close();
  }
}

const VALIDATE_FAILED = IM.BaseDefine.ResultType.REFUSE_REASON_DB_VALIDATE_FAILED;

it("answers a wrong password with TeamTalk's REFUSE_REASON_DB_VALIDATE_FAILED and a lockout with a clear reason", async () => {
  await createUser(suite.pool, 'e2e_oscar');
  for (let i = 0; i < FAIL_LIMIT; i++) {
    expect(await loginFrom('127.0.0.2', 'e2e_oscar', `wrong${i}`)).toEqual({ code: VALIDATE_FAILED, text: 'wrong user name or password' });
  }
  const locked = await loginFrom('127.0.0.2', 'e2e_oscar', DEMO_PASSWORD);
  expect(locked.code).toBe(VALIDATE_FAILED);
  expect(locked.text).toMatch(/too many failed logins for this user from your address; try again in \d+ min/);
  // The gateway passed the client's address: from another one the user is not locked.
  expect((await loginFrom('127.0.0.3', 'e2e_oscar', DEMO_PASSWORD)).code).toBe(0);
});

it('of 50 parallel wrong guesses only the limit reach the password check', async () => {
  await createUser(suite.pool, 'e2e_sven');
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => loginFrom('127.0.6.1', 'e2e_sven', `guess${i}`)));
  expect(answers.every((a) => a.code === VALIDATE_FAILED)).toBe(true);
  expect(answers.filter((a) => a.text === 'wrong user name or password')).toHaveLength(FAIL_LIMIT);
  expect(answers.filter((a) => /too many failed logins/.test(a.text))).toHaveLength(50 - FAIL_LIMIT);
});

it("a stranger's 50 failures from other addresses (over two db-proxies) never lock out the real user, who logs in from a fresh address", async () => {
  await createUser(suite.pool, 'e2e_petra');
  for (let i = 0; i < 50; i++) {
    const r = await loginFrom(`127.0.1.${(i % 10) + 1}`, 'e2e_petra', `guess${i}`);
    expect(r.code).toBe(VALIDATE_FAILED);
  }
  expect((await loginFrom('127.0.2.1', 'e2e_petra', DEMO_PASSWORD)).code).toBe(0);
});

it("'name   ' is the same user with the same counter", async () => {
  await createUser(suite.pool, 'e2e_quinn');
  expect((await loginFrom('127.0.3.1', 'e2e_quinn   ', DEMO_PASSWORD)).code).toBe(0);
  for (let i = 0; i < FAIL_LIMIT; i++) await loginFrom('127.0.3.1', `e2e_quinn${' '.repeat(i + 1)}`, `wrong${i}`);
  expect((await loginFrom('127.0.3.1', 'e2e_quinn', DEMO_PASSWORD)).text).toMatch(/too many failed logins/);
});

it('upgrades a TeamTalk md5 password to argon2id at the first login; the user logs in with it afterwards', async () => {
  const id = await createUser(suite.pool, 'e2e_rita');
  expect((await loginFrom('127.0.4.1', 'e2e_rita', DEMO_PASSWORD)).code).toBe(0);
  // The upgrade follows the answer.
  let hash = '';
  await waitFor(async () => {
    const [rows] = await suite.pool.query<RowDataPacket[]>('SELECT hash FROM IMUserPasswordHash WHERE userId = ?', [id]);
    hash = String(rows[0]?.hash ?? '');
    return hash !== '';
  }, 10_000);
  expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  expect((await loginFrom('127.0.4.2', 'e2e_rita', DEMO_PASSWORD)).code).toBe(0);
  expect((await loginFrom('127.0.4.2', 'e2e_rita', 'wrong')).code).toBe(VALIDATE_FAILED);
});

it('refuses an overlong name like any wrong name, closes a 10 kB login frame, and the gateway stays up', async () => {
  // Over the 32-character column but inside the 4 KiB pre-login frame cap: refused by db-proxy before Redis or MySQL.
  expect(await loginFrom('127.0.5.1', 'x'.repeat(1_000), DEMO_PASSWORD)).toEqual({ code: VALIDATE_FAILED, text: 'wrong user name or password' });
  // Past the pre-login frame cap: the gateway closes the connection before decoding it.
  await expect(loginFrom('127.0.5.1', 'x'.repeat(10_240), DEMO_PASSWORD)).rejects.toMatchObject({ code: 'CLOSED' });
  expect((await loginFrom('127.0.5.1', 'alice', DEMO_PASSWORD)).code).toBe(0);
});
