// Many logins at once through the gateways' login streams (DbProxy.ValidateStream,
// Route.LoginStream): each login gets its own answer (right and wrong passwords,
// a lockout), a new login displaces the user's session on the other gateway, and
// a db-proxy killed in the middle of a storm leaves no login unanswered.
import { TeamTalkClient, isClientError } from '@tiertalk/client';
import { IM } from '@tiertalk/proto';
import { waitFor } from '@tiertalk/testkit';
import type { GatewayInfo } from '@tiertalk/testkit';
import { DEMO_PASSWORD, md5hex } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(180_000);

const FAIL_LIMIT = 5;
const USERS = 400;
// Long enough for a storm on a busy test machine: an answer is what is asserted, not its speed.
const DEADLINE_MS = 20_000;
/** How long the hundreds of logouts after a test may take to leave route's registry. */
const LOGOUTS_MS = 30_000;

const VALIDATE_FAILED = IM.BaseDefine.ResultType.REFUSE_REASON_DB_VALIDATE_FAILED;
const userName = (i: number): string => `storm_${i}`;
/** A distinct loopback source address per attempt (the per-IP limits stay out of the way). */
const address = (block: number, i: number): string => `127.${block}.${Math.floor(i / 250)}.${(i % 250) + 1}`;

const suite = e2eSuite(
  'login-storm',
  {
    dbProxy: 2,
    route: 2,
    msg: 2,
    login: false,
    serviceEnv: {
      // The cheapest argon2id: this is about answers, not hash cost, on a shared test machine.
      'db-proxy': { TT_LOGIN_FAIL_LIMIT: String(FAIL_LIMIT), TT_ARGON2_MEMORY_KIB: '1024', TT_ARGON2_TIME_COST: '1' },
      msg: { TT_DB_DEADLINE_MS: String(DEADLINE_MS), TT_ROUTE_DEADLINE_MS: String(DEADLINE_MS), TT_LOGIN_TIMEOUT_MS: String(DEADLINE_MS * 2) },
    },
  },
  // The suite's wait is for a handful of sessions; hundreds get a longer one below.
  { waitForLogouts: false },
);

beforeAll(async () => {
  const salt = 'St0r';
  const rows = Array.from({ length: USERS }, (_, i) => [1, userName(i), userName(i), userName(i), md5hex(md5hex(DEMO_PASSWORD) + salt), salt, '', '', '', 1, 0, 0, 0]);
  await suite.pool.query('INSERT INTO IMUser (sex, name, domain, nick, password, salt, phone, email, avatar, departId, status, created, updated) VALUES ?', [rows]);
});

// Runs after the suite's own afterEach (declared earlier, by e2eSuite), which closed every tracked client:
// the next test starts with nobody logged in, so its kicks are only its own.
afterEach(async () => {
  await suite.waitRegistryEmpty(LOGOUTS_MS);
});

type Answer = { code: 0; nick: string; client: TeamTalkClient } | { code: number; text: string };

/** One login on a fresh connection from `from`; a successful client stays open (and is closed after the test). */
async function attempt(gw: GatewayInfo, from: string, user: string, password: string): Promise<Answer> {
  const c = await TeamTalkClient.connect({ host: '127.0.0.1', port: gw.tcpPort, localAddress: from, heartbeatMs: 0, requestTimeoutMs: DEADLINE_MS * 3 });
  try {
    const me = await c.login(user, password);
    suite.track(c);
    return { code: 0, nick: me.userInfo.userNickName, client: c };
  } catch (err) {
    c.close();
    if (isClientError(err) && err.code === 'LOGIN_REFUSED') return { code: err.resultCode ?? -1, text: err.resultString ?? '' };
    throw err;
  }
}

/** Users 0..n-1 logged in, user i on gateway i % 2, each from its own address in `block`. */
async function logInOnAlternateGateways(gws: GatewayInfo[], n: number, block: number): Promise<TeamTalkClient[]> {
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => attempt(gws[i % 2], address(block, i), userName(i), DEMO_PASSWORD)));
  return answers.map((a, i) => {
    if (!('client' in a)) throw new Error(`${userName(i)} was refused (${a.code}: ${a.text})`);
    return a.client;
  });
}

it('a storm of right, wrong and locked-out logins: every login gets its own answer', async () => {
  const gws = suite.cluster.gateways();
  const right = Array.from({ length: 200 }, (_, i) => attempt(gws[i % 2], address(10, i), userName(i), DEMO_PASSWORD));
  const wrong = Array.from({ length: 100 }, (_, i) => attempt(gws[i % 2], address(11, i), userName(200 + i), `wrong${i}`));
  // One address guessing one account: only the limit's worth reach the password check.
  const guesses = Array.from({ length: 20 }, (_, i) => attempt(gws[i % 2], '127.12.0.1', userName(399), `guess${i}`));
  const [r, w, g] = await Promise.all([Promise.all(right), Promise.all(wrong), Promise.all(guesses)]);

  // Each right login got its own user's profile back (answers matched by ref, never swapped).
  expect(r.map((a) => ('nick' in a ? a.nick : `refused ${a.code}: ${a.text}`))).toEqual(Array.from({ length: 200 }, (_, i) => userName(i)));
  expect(w.map((a) => ('text' in a ? a : a.code))).toEqual(Array.from({ length: 100 }, () => ({ code: VALIDATE_FAILED, text: 'wrong user name or password' })));
  expect(g.every((a) => a.code === VALIDATE_FAILED)).toBe(true);
  const texts = g.map((a) => ('text' in a ? a.text : ''));
  expect(texts.filter((t) => t === 'wrong user name or password')).toHaveLength(FAIL_LIMIT);
  expect(texts.filter((t) => /too many failed logins for this user from your address/.test(t))).toHaveLength(20 - FAIL_LIMIT);
});

it("logging in again on the other gateway displaces each user's earlier session (kicks through route)", async () => {
  const gws = suite.cluster.gateways();
  const earlier = await logInOnAlternateGateways(gws, 200, 15);
  const kicked = new Set<TeamTalkClient>();
  for (const c of earlier) c.once('kick', () => kicked.add(c));
  // User i is on gateway i % 2; each logs in on the other one now.
  const again = await Promise.all(Array.from({ length: 200 }, (_, i) => attempt(gws[(i + 1) % 2], address(13, i), userName(i), DEMO_PASSWORD)));
  expect(again.filter((a) => a.code !== 0)).toEqual([]);
  await waitFor(() => kicked.size === earlier.length, 20_000);
});

it('a db-proxy SIGKILLed in the middle of a login storm: every login is answered, and answered OK by the survivor', async () => {
  const gws = suite.cluster.gateways();
  const logins: Array<Promise<Answer>> = [];
  const started = Date.now();
  let killedAt = 0;
  // About 200 logins a second for 3 s; the kill comes after the first second.
  for (let i = 0; i < USERS && Date.now() - started < 3000; i += 1) {
    logins.push(attempt(gws[i % 2], address(14, i), userName(i), DEMO_PASSWORD));
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 50));
    if (killedAt === 0 && Date.now() - started > 1000) {
      await suite.cluster.kill('db-proxy-1', 'SIGKILL');
      killedAt = Date.now();
    }
  }
  const answers = await Promise.all(logins.map((p) => p.catch((err: unknown) => ({ code: -1, text: `no answer: ${String(err)}` }))));
  expect(killedAt).toBeGreaterThan(0);
  expect(answers.length).toBeGreaterThan(100);
  expect(answers.filter((a) => a.code !== 0)).toEqual([]);
});
