// The fault suite (issue 10): under about 1,000 msg/s from the pressure tool's
// clients, one fault per scenario. Each scenario counts ACKed messages lost,
// duplicates, sends unanswered past the 10 s deadline and msg ids reused, and
// reports the stall (longest time without an ACK); the table goes to
// .run/fault-results.md (`make faults` prints it).
// The dependencies are private processes (testkit PrivateMariaDb/Redis/Etcd),
// so the suite may stop, kill and flush them without touching the machine's.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '@tiertalk/testkit';
import type { ServiceName } from '@tiertalk/testkit';
import { TeamTalkClient, isClientError } from '@tiertalk/client';
import { FaultLoad, ensureUsers, userNames } from '../pressure/src';
import { FAULT_PASSWORD, busiest, gatewayAddrs, loginServerChoice, running, startWorld, stopWorld, type FaultWorld } from './fault-cluster';
import { renderResults, type ScenarioResult } from './results-table';

const envInt = (name: string, fallback: number): number => {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
};
const PAIRS = envInt('TT_FAULT_PAIRS', 50);
const RATE = envInt('TT_FAULT_RATE', 1000);
/** The deadline within which a send must be answered (issue 10: 10 s). */
const DEADLINE_MS = 10_000;
/** Load before the fault and after the cluster is whole again: long enough to see the steady state. */
const BEFORE_MS = 2000;
const AFTER_MS = 4000;
/** How long a killed instance stays away before its replacement starts. */
const OUTAGE_MS = 5000;
const DRAIN_MS = 6000;
const RESULTS_FILE = path.join(repoRoot, '.run', 'fault-results.md');

jest.setTimeout(150_000);

const results: ScenarioResult[] = [];
let world: FaultWorld | undefined;

beforeAll(async () => {
  world = await startWorld(PAIRS * 2);
}, 180_000);

afterAll(async () => {
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  const load = `${PAIRS} pairs of TeamTalk clients over TCP, both ends sending, ${RATE} msg/s in total; 2 db-proxy, 2 route, 2 msg, login on a private MariaDB, Redis and etcd`;
  writeFileSync(RESULTS_FILE, renderResults(results, load));
  await stopWorld(world);
}, 60_000);

function theWorld(): FaultWorld {
  if (!world) throw new Error('the fault world did not start (see beforeAll)');
  return world;
}

/** Runs the load, injects `fault` after BEFORE_MS, keeps loading AFTER_MS once it returned, then judges. */
async function scenario(name: string, fault: (w: FaultWorld) => Promise<void>): Promise<ScenarioResult> {
  const w = theWorld();
  const load = await FaultLoad.connect({
    names: w.names,
    password: FAULT_PASSWORD,
    ratePerClient: RATE / (PAIRS * 2),
    ackTimeoutMs: DEADLINE_MS,
    gateways: gatewayAddrs(w.cluster),
    reconnectTo: () => loginServerChoice(w.cluster),
    warn: () => undefined,
  });
  let result: ScenarioResult;
  try {
    load.startSending();
    await sleep(BEFORE_MS);
    await fault(w);
    await sleep(AFTER_MS);
    const { failures, ...summary } = await load.finish(DRAIN_MS);
    result = { scenario: name, summary, failures };
  } catch (err) {
    load.closeAll();
    // The row still goes into the table, marked, with what was counted so far.
    results.push({ scenario: name, summary: load.ledger.summary(), failures: [`scenario aborted: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`] });
    throw err;
  }
  results.push(result);
  return result;
}

/** What issue 10 requires of every scenario, in one object so a failure shows every figure. */
function expectNoHarm(r: ScenarioResult): void {
  const s = r.summary;
  expect(s.acked).toBeGreaterThan(0);
  expect(r.failures).toEqual([]);
  expect({ lost: s.lost, duplicates: s.duplicates, unanswered: s.unanswered, reused: s.reused }).toEqual({
    lost: 0,
    duplicates: 0,
    unanswered: 0,
    reused: 0,
  });
}

/** kill -9 of the busiest instance of a tier (CPU over the last second), its replacement started OUTAGE_MS later. */
async function killOne(w: FaultWorld, service: ServiceName): Promise<void> {
  const victim = await busiest(w.cluster, service, 1000);
  await w.cluster.kill(victim, 'SIGKILL');
  await sleep(OUTAGE_MS);
  await w.cluster.startInstance(service);
}

it('kill -9 one of two db-proxies', async () => {
  expectNoHarm(await scenario('kill -9 one db-proxy', (w) => killOne(w, 'db-proxy')));
});

it('kill -9 one of two routes', async () => {
  expectNoHarm(await scenario('kill -9 one route', (w) => killOne(w, 'route')));
});

it('kill -9 one of two gateways: its clients log in again on the other', async () => {
  expectNoHarm(await scenario('kill -9 one gateway', (w) => killOne(w, 'msg')));
});

it('MariaDB restarted (down about 3 s)', async () => {
  expectNoHarm(
    await scenario('restart MariaDB', async (w) => {
      await w.mariadb.stop();
      await sleep(3000);
      await w.mariadb.start();
    }),
  );
});

it('Redis flushed and restarted empty (down about 3 s)', async () => {
  expectNoHarm(
    await scenario('flush + restart Redis', async (w) => {
      await w.redis.flushAll();
      await w.redis.stop();
      await sleep(3000);
      await w.redis.start();
    }),
  );
});

it('rolling restart: SIGTERM and restart every instance, tier by tier', async () => {
  expectNoHarm(
    await scenario('rolling restart (SIGTERM)', async (w) => {
      for (const service of ['db-proxy', 'route', 'msg', 'login'] as const) {
        for (const name of running(w.cluster, service)) {
          await w.cluster.kill(name, 'SIGTERM');
          await w.cluster.startInstance(service);
        }
      }
    }),
  );
});

it('etcd stopped for 30 s (SIGSTOP, then SIGCONT)', async () => {
  expectNoHarm(
    await scenario('etcd stopped 30 s', async (w) => {
      w.etcd.pause();
      try {
        await sleep(30_000);
      } finally {
        w.etcd.resume();
      }
    }),
  );
});

/** One login on a fresh connection from `from`: 'ok', or what the client got instead (an error is an answer too; a timeout is not). */
async function loginOnce(gw: { host: string; port: number }, from: string, name: string): Promise<string> {
  const c = await TeamTalkClient.connect({ host: gw.host, port: gw.port, localAddress: from, heartbeatMs: 0, requestTimeoutMs: 2 * DEADLINE_MS });
  try {
    await c.login(name, FAULT_PASSWORD);
    return 'ok';
  } catch (err) {
    return isClientError(err) ? `${err.code} ${err.resultCode ?? ''} ${err.resultString ?? err.message}` : String(err);
  } finally {
    c.close();
  }
}

it('kill -9 one of two db-proxies in a login storm: every login answered, and accepted by the survivor', async () => {
  const w = theWorld();
  // Users of their own, each logging in once (a user's second login would displace the first).
  const names = userNames('storm', 600);
  await ensureUsers(w.mysqlUrl, names, FAULT_PASSWORD);
  const gws = gatewayAddrs(w.cluster);
  const logins: Array<Promise<string>> = [];
  // About 200 logins a second for 3 s, each from its own loopback address (the per-IP limits stay out of the way).
  const storm = (async () => {
    for (let i = 0; i < names.length; i += 1) {
      logins.push(loginOnce(gws[i % gws.length], `127.20.${Math.floor(i / 250)}.${(i % 250) + 1}`, names[i]));
      if (i % 10 === 9) await sleep(50);
    }
  })();
  await sleep(1000);
  // The instance doing the validations right now.
  const victim = await busiest(w.cluster, 'db-proxy', 300);
  await w.cluster.kill(victim, 'SIGKILL');
  await storm;
  const answers = await Promise.all(logins);
  await w.cluster.startInstance('db-proxy');
  expect(answers).toHaveLength(names.length);
  expect(answers.filter((a) => a !== 'ok')).toEqual([]);
});
