// FaultLoad against a real cluster: without a fault every send is ACKed and
// delivered once; when a gateway dies, its clients log in again where the
// login server sends them and find by their pull what was stored meanwhile.
import { pickGateway } from '@tiertalk/client';
import { Cluster, flushTestRedis, prepareTestDatabase, waitFor } from '@tiertalk/testkit';
import { FaultLoad, type FaultLoadOptions } from './fault-load';
import { userNames } from './options';
import { ensureUsers } from './users';

jest.setTimeout(120_000);

const PASSWORD = 'fault-load-pw';
const NAMES = userNames('faultload', 8);

let cluster: Cluster;
let load: FaultLoad | undefined;

beforeAll(async () => {
  const url = await prepareTestDatabase();
  await flushTestRedis();
  await ensureUsers(url, NAMES, PASSWORD);
  cluster = await Cluster.start({ dbProxy: 1, route: 1, msg: 2, login: true, env: { TT_LOG_LEVEL: 'warn', TT_MSG_RATE_PER_SEC: '0' } });
});

afterAll(async () => {
  load?.closeAll();
  await cluster?.stop();
});

function options(reconnectTo: FaultLoadOptions['reconnectTo']): FaultLoadOptions {
  return {
    names: NAMES,
    password: PASSWORD,
    ratePerClient: 20,
    ackTimeoutMs: 10_000,
    gateways: cluster.gateways().map((g) => ({ host: '127.0.0.1', port: g.tcpPort })),
    reconnectTo,
    warn: () => undefined,
  };
}

async function loginServerChoice(): Promise<{ host: string; port: number }> {
  const g = await pickGateway(cluster.loginUrl, { timeoutMs: 2000 });
  return { host: g.host, port: g.port };
}

it('without a fault: every send ACKed and delivered exactly once', async () => {
  load = await FaultLoad.connect(options(loginServerChoice));
  load.startSending();
  await waitFor(() => load!.ledger.summary().acked >= 200, 20_000);
  const r = await load.finish(5000);
  expect(r.acked).toBe(r.sent);
  expect(r).toMatchObject({ lost: 0, duplicates: 0, unanswered: 0, reused: 0, cut: 0, reconnects: 0, pulledOnly: 0, failures: [] });
});

it('a killed gateway: its clients log in again elsewhere and pull what they missed', async () => {
  // The re-logins wait until messages were stored for the away receivers, so the pull has work.
  let release: () => void = () => undefined;
  const away = new Promise<void>((resolve) => (release = resolve));
  load = await FaultLoad.connect(
    options(async () => {
      await away;
      return loginServerChoice();
    }),
  );
  load.startSending();
  await waitFor(() => load!.ledger.summary().acked >= 100, 20_000);
  const [victim] = cluster.gateways();
  await cluster.kill(victim.name, 'SIGKILL');
  const ackedAtKill = load.ledger.summary().acked;
  await waitFor(() => load!.ledger.summary().acked >= ackedAtKill + 50, 20_000);
  release();
  // Everyone back: the survivors' sends to the re-logged users are ACKed again.
  await waitFor(() => load!.ledger.summary().reconnects >= NAMES.length / 2, 30_000);
  const r = await load.finish(5000);
  // Each pair spans both gateways: half of the clients were on the victim.
  expect(r.reconnects).toBe(NAMES.length / 2);
  expect(r.failures).toEqual([]);
  expect(r.pulledOnly).toBeGreaterThan(0);
  expect(r.acked).toBeGreaterThan(ackedAtKill + 50);
});
