// Two instances of every tier; one of each dies (SIGKILL, then SIGTERM) while
// users keep chatting. Messaging must resume within the lease TTL and no
// message that was ACKed may be missing from MySQL.
import { ClientError, TeamTalkClient } from '@tiertalk/client';
import { IM } from '@tiertalk/proto';
import Redis from 'ioredis';
import { waitFor } from '@tiertalk/testkit';
import { connect, loggedIn, storedMessages, userId } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(120_000);

// libs/registry's default removal grace for an instance whose key vanished without 'leaving'.
const REMOVAL_GRACE_MS = 3000;
const LEASE_TTL_SEC = 3;
const suite = e2eSuite('failover', { dbProxy: 2, route: 2, msg: 2, login: true, env: { TT_LEASE_TTL_SEC: String(LEASE_TTL_SEC) } }, { waitForLogouts: false });

/** Sends alice → bob every `everyMs` and records what was ACKed and delivered. */
function chatter(alice: TeamTalkClient, bob: TeamTalkClient, bobId: number, everyMs: number) {
  const acked: Array<{ msgId: number; at: number; text: string }> = [];
  const delivered = new Map<number, number>();
  let failed = 0;
  let n = 0;
  bob.on('message', (m: IM.Message.IMMsgData) => delivered.set(m.msgId, Date.now()));
  const timer = setInterval(() => {
    const text = `tick ${++n}`;
    alice.sendText(bobId, text).then(
      (ack) => acked.push({ msgId: ack.msgId, at: Date.now(), text }),
      () => {
        failed += 1;
      },
    );
  }, everyMs);
  return {
    acked,
    delivered,
    get failed() {
      return failed;
    },
    /** Every send so far was answered (ACKed or failed). */
    settled: () => acked.length + failed === n,
    /** First moment after t at which a message was both ACKed and delivered. */
    recoveredAt(t: number): number | undefined {
      return acked.filter((a) => a.at > t && delivered.has(a.msgId)).map((a) => a.at)[0];
    },
    stop: () => clearInterval(timer),
  };
}

it('keeps messaging when one db-proxy, one route and one gateway are SIGKILLed, losing no ACKed message', async () => {
  const [gw1, gw2] = suite.cluster.gateways();
  const aliceId = await userId(suite.pool, 'alice');
  const bobId = await userId(suite.pool, 'bob');
  const alice = await loggedIn(gw1, 'alice');
  let bob = await loggedIn(gw2, 'bob');
  for (const c of [alice, bob]) suite.track(c);
  const run = chatter(alice, bob, bobId, 50);
  await waitFor(() => run.delivered.size >= 10, 10_000);

  for (const victim of ['db-proxy-1', 'route-1']) {
    const t = Date.now();
    await suite.cluster.kill(victim, 'SIGKILL');
    await waitFor(() => run.recoveredAt(t) !== undefined, LEASE_TTL_SEC * 1000 + 5000);
    expect(run.recoveredAt(t)! - t).toBeLessThanOrEqual(LEASE_TTL_SEC * 1000 + 2000);
  }

  // Bob's gateway dies: he logs in again through the login service, which now
  // only knows the surviving gateway, and receives again.
  run.stop();
  await suite.cluster.kill('msg-2', 'SIGKILL');
  const t = Date.now();
  await waitFor(async () => {
    const body = (await (await fetch(suite.cluster.msgServerUrl)).json()) as { code: number; port?: string };
    return body.code === 0 && Number(body.port) === gw1.tcpPort;
  }, LEASE_TTL_SEC * 1000 + 5000);
  // The dead gateway's sessions vanish from route's registry with its lease: no ghosts.
  const sessions = new Redis(suite.redisUrls.route);
  try {
    // Lease TTL, then the watchers' removal grace (an etcd outage must not look like a death).
    await waitFor(async () => Object.keys(await sessions.hgetall(`tt:sm:user:${bobId}`)).every((f) => !f.startsWith('msg-2@')), LEASE_TTL_SEC * 1000 + REMOVAL_GRACE_MS + 5000);
    expect(await sessions.smembers('tt:sm:gateways')).not.toEqual(expect.arrayContaining([expect.stringMatching(/^msg-2@/)]));
  } finally {
    sessions.disconnect();
  }
  bob = await loggedIn(gw1, 'bob');
  suite.track(bob);
  const run2 = chatter(alice, bob, bobId, 50);
  await waitFor(() => run2.delivered.size >= 5, LEASE_TTL_SEC * 1000 + 5000);
  expect(Date.now() - t).toBeLessThanOrEqual(LEASE_TTL_SEC * 1000 + 5000);
  run2.stop();
  await waitFor(run2.settled, 10_000);

  // Every ACKed message is in MySQL, with the text that was sent.
  const stored = new Map((await storedMessages(suite.pool, aliceId, bobId)).map((m) => [m.msgId, m.content]));
  for (const a of [...run.acked, ...run2.acked]) expect(stored.get(a.msgId)).toBe(a.text);
  // ids are never reused
  const ids = [...run.acked, ...run2.acked].map((a) => a.msgId);
  expect(new Set(ids).size).toBe(ids.length);
});

it('lets a stopping db-proxy finish what it received (SIGTERM) while the other takes over', async () => {
  const [gw] = suite.cluster.gateways();
  await suite.cluster.startInstance('db-proxy');
  const aliceId = await userId(suite.pool, 'alice');
  const carolId = await userId(suite.pool, 'carol');
  const alice = await loggedIn(gw, 'alice');
  const carol = await loggedIn(gw, 'carol');
  for (const c of [alice, carol]) suite.track(c);
  const run = chatter(alice, carol, carolId, 20);
  await waitFor(() => run.acked.length >= 20, 10_000);
  const t = Date.now();
  await suite.cluster.kill('db-proxy-2', 'SIGTERM');
  await waitFor(() => run.recoveredAt(t) !== undefined, 5000);
  run.stop();
  await waitFor(run.settled, 10_000);
  const stored = new Map((await storedMessages(suite.pool, aliceId, carolId)).map((m) => [m.msgId, m.content]));
  for (const a of run.acked) expect(stored.get(a.msgId)).toBe(a.text);
});

it('refuses a login with NO_DB_SERVER at once when no db-proxy is alive', async () => {
  for (const i of suite.cluster.instanceInfo()) if (i.service === 'db-proxy' && i.alive) await suite.cluster.kill(i.name, 'SIGKILL');
  const [gw] = suite.cluster.gateways();
  const c = await connect(gw);
  suite.track(c);
  const t = Date.now();
  const err = await c.login('dave', 'tiertalk').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ClientError);
  expect((err as ClientError).resultCode).toBe(IM.BaseDefine.ResultType.REFUSE_REASON_NO_DB_SERVER);
  expect(Date.now() - t).toBeLessThan(3000);
});
