// Every service serves Prometheus metrics (TT_METRICS_PORT; login on its HTTP
// port), publishes the port in its etcd meta, and counts refusals.
import { testEtcd, waitFor } from '@tiertalk/testkit';
import { e2eSuite } from './suite';

jest.setTimeout(60_000);

const suite = e2eSuite('metrics', { dbProxy: 1, route: 1, msg: 1, login: true });

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

function refusals(text: string, reason: string): number {
  const m = new RegExp(`^tt_refusals_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function publishedMeta(service: string, name: string): Promise<Record<string, unknown>> {
  const etcd = testEtcd();
  try {
    const value = await etcd.get(`${suite.cluster.prefix}/services/${service}/${name}`).string();
    return (JSON.parse(value ?? '{}') as { meta?: Record<string, unknown> }).meta ?? {};
  } finally {
    etcd.close();
  }
}

describe('metrics', () => {
  it('every service answers /metrics on the port its etcd entry publishes, with process metrics and the refusal counter', async () => {
    const instances = suite.cluster.instanceInfo();
    expect(instances.map((i) => i.service).sort()).toEqual(['db-proxy', 'login', 'msg', 'route']);
    for (const inst of instances) {
      expect(inst.metricsPort).toEqual(expect.any(Number));
      expect((await publishedMeta(inst.service, inst.name)).metricsPort).toBe(inst.metricsPort);
      const text = await scrape(inst.metricsPort ?? 0);
      expect(text).toContain('# TYPE tt_refusals_total counter');
      // prom-client's process defaults, labelled with the service and instance
      expect(text).toMatch(new RegExp(`^process_cpu_user_seconds_total\\{service="${inst.service}",instance="${inst.name}"\\} `, 'm'));
      expect(text).toContain('nodejs_eventloop_lag_seconds');
    }
  });

  it('counts a refusal: a request for an unknown path on login', async () => {
    const login = suite.cluster.instanceInfo().find((i) => i.service === 'login');
    const port = login?.metricsPort ?? 0;
    const before = refusals(await scrape(port), 'http_unknown_path');
    // TeamTalk's login server closes the connection without an answer.
    await expect(fetch(`http://127.0.0.1:${port}/not-a-login-path`)).rejects.toThrow();
    await waitFor(async () => refusals(await scrape(port), 'http_unknown_path') === before + 1, 5_000, { what: 'the refusal counted' });
    // still the TeamTalk answer on /msg_server
    expect(await (await fetch(`${suite.cluster.loginUrl}/msg_server`)).json()).toMatchObject({ code: 0 });
  });
});
