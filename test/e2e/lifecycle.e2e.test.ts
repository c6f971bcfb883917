// Connection timeouts and graceful shutdown (SIGTERM) of each tier, on a real cluster.
import { testEtcd, waitFor } from '@tiertalk/testkit';
import { closedWithin, connect, loggedIn } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const IDLE_MS = 1500;
const suite = e2eSuite('lifecycle', {
    dbProxy: 1,
    route: 1,
    msg: 2,
    login: true,
    serviceEnv: { msg: { TT_PC_IDLE_TIMEOUT_MS: String(IDLE_MS), TT_LOGIN_TIMEOUT_MS: String(IDLE_MS) } },
  });

async function registered(service: string, name: string): Promise<boolean> {
  const etcd = testEtcd();
  try {
    return (await etcd.get(`${suite.cluster.prefix}/services/${service}/${name}`).string()) !== null;
  } finally {
    etcd.close();
  }
}

describe('connection timeouts', () => {
  it('keeps a connection that sends heartbeats and closes a silent one', async () => {
    const [gw] = suite.cluster.gateways();
    const beating = await loggedIn(gw, 'alice');
    const silent = await loggedIn(gw, 'bob');
    for (const c of [beating, silent]) suite.track(c);
    const timer = setInterval(() => void beating.heartbeat().catch(() => undefined), IDLE_MS / 3);
    try {
      expect(await closedWithin(silent, IDLE_MS * 3)).toBe(true);
      expect(await closedWithin(beating, 500)).toBe(false);
      await expect(beating.heartbeat()).resolves.toBeUndefined();
    } finally {
      clearInterval(timer);
    }
  });

  it('closes a connection that does not log in in time', async () => {
    const [gw] = suite.cluster.gateways();
    const c = await connect(gw);
    suite.track(c);
    expect(await closedWithin(c, IDLE_MS * 3)).toBe(true);
  });
});

describe('SIGTERM', () => {
  it.each([['msg-2', 'msg'], ['route-1', 'route'], ['login', 'login'], ['db-proxy-1', 'db-proxy']])(
    '%s deregisters from etcd and exits 0 within a few seconds',
    async (name, service) => {
      expect(await registered(service, name)).toBe(true);
      const t = Date.now();
      await suite.cluster.kill(name, 'SIGTERM');
      expect(Date.now() - t).toBeLessThan(6000);
      expect(suite.cluster.process(name).exitCode).toBe(0);
      expect(await registered(service, name)).toBe(false);
    },
  );

  it('closes the clients of a stopping gateway', async () => {
    const [gw] = suite.cluster.gateways();
    const c = await connect(gw);
    suite.track(c);
    const t = Date.now();
    await suite.cluster.kill(gw.name, 'SIGTERM');
    expect(await closedWithin(c, 1000)).toBe(true);
    expect(Date.now() - t).toBeLessThan(6000);
    await waitFor(() => suite.cluster.process(gw.name).exitCode !== null, 1000);
  });
});
