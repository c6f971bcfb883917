// Health checking (docs/HEALTH.md) on a real cluster: every instance answers
// /healthz and /readyz, every gRPC server grpc.health.v1.Health; db-proxy goes
// NOT_SERVING while its (private) Redis is stopped and SERVING once it is back;
// a gateway whose db-proxy is gone is not ready; a stopping route says
// NOT_SERVING before it goes; login stays ready without gateways, with a warning.
// The admin HTTP service (services/admin) answers the same probes on its metrics port.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { HealthService, type ReadinessReport } from '@tiertalk/health';
import { createClient, mutualTls, type RpcSecurity } from '@tiertalk/rpc';
import { AdminService, PrivateRedis, testPki, waitFor, type Cluster, type ServiceName } from '@tiertalk/testkit';
import { e2eSuite } from './suite';

jest.setTimeout(120_000);

type HealthStatus = { status: string };

const GRPC_NAMES: Partial<Record<ServiceName, string>> = { 'db-proxy': 'tiertalk.DbProxy', route: 'tiertalk.Route', msg: 'tiertalk.Gateway' };
// Long enough for a killed instance's lease (TT_LEASE_TTL_SEC=3 in test clusters) and the watchers' removal grace (3 s).
const FLIP_MS = 20_000;

let redisServer: PrivateRedis;
let cluster: Cluster;
let admin: AdminService;
const securities: RpcSecurity[] = [];
const clients: grpc.Client[] = [];

function as(name: string): RpcSecurity {
  const pki = testPki();
  const sec = mutualTls({ ca: pki.caCert, ...pki.certFor(name) }, { pollIntervalMs: 0 });
  securities.push(sec);
  return sec;
}

function instance(name: string): { service: ServiceName; grpcPort: number; metricsPort: number } {
  const info = cluster.instanceInfo().find((i) => i.name === name);
  if (!info || info.metricsPort === undefined) throw new Error(`no instance ${name} with a metrics port`);
  return { service: info.service, grpcPort: info.grpcPort, metricsPort: info.metricsPort };
}

function healthClient(name: string, security: RpcSecurity = as('admin')): grpc.Client {
  const inst = instance(name);
  const client = createClient(`127.0.0.1:${inst.grpcPort}`, security, inst.service);
  clients.push(client);
  return client;
}

function check(client: grpc.Client, service: string): Promise<string> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      HealthService.Check.path,
      HealthService.Check.requestSerialize,
      HealthService.Check.responseDeserialize,
      { service },
      { deadline: Date.now() + 5_000 },
      (err: grpc.ServiceError | null, rsp?: unknown) => (err ? reject(err) : resolve((rsp as HealthStatus).status)),
    ),
  );
}

/** Health.Watch of one instance: every status it streamed, and whether the stream ended. */
function watch(client: grpc.Client, service: string): { statuses: string[]; ended: () => boolean; cancel: () => void } {
  const call = client.makeServerStreamRequest(HealthService.Watch.path, HealthService.Watch.requestSerialize, HealthService.Watch.responseDeserialize, { service });
  const statuses: string[] = [];
  let ended = false;
  call.on('data', (m: HealthStatus) => statuses.push(m.status));
  call.on('error', () => (ended = true));
  call.on('end', () => (ended = true));
  return { statuses, ended: () => ended, cancel: () => call.cancel() };
}

/** `admin`: the admin HTTP service started beside the cluster. */
async function probe(name: string, path: '/healthz' | '/readyz'): Promise<{ status: number; body: ReadinessReport & { alive?: boolean } }> {
  const port = name === 'admin' ? admin.metricsPort : instance(name).metricsPort;
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as ReadinessReport & { alive?: boolean } };
}

async function waitReadyz(name: string, status: 200 | 503, what: string): Promise<ReadinessReport> {
  let last: ReadinessReport | undefined;
  await waitFor(
    async () => {
      const r = await probe(name, '/readyz');
      last = r.body;
      return r.status === status;
    },
    FLIP_MS,
    { intervalMs: 200, what: `${name} /readyz ${status} (${what}); last: ${JSON.stringify(last)}` },
  );
  if (!last) throw new Error('no /readyz answer');
  return last;
}

// db-proxy's Redis is a private server of this file: the test stops and restarts it.
beforeAll(async () => {
  redisServer = await PrivateRedis.start();
});

// A function spec: read after the beforeAll above started that Redis.
const suite = e2eSuite('health', () => {
  const redis = redisServer.url(1);
  return {
    dbProxy: 1,
    route: 1,
    msg: 1,
    login: true,
    serviceEnv: {
      'db-proxy': {
        TT_REDIS_UNREAD_URL: redis,
        TT_REDIS_GROUP_SET_URL: redis,
        TT_REDIS_TOKEN_URL: redis,
        TT_REDIS_SYNC_URL: redisServer.url(2),
        TT_REDIS_GROUP_MEMBER_URL: redis,
        TT_HEALTH_INTERVAL_MS: '500',
      },
      route: { TT_HEALTH_INTERVAL_MS: '500' },
    },
  };
});

beforeAll(async () => {
  cluster = suite.cluster;
  admin = await AdminService.start(cluster, { token: 'health-e2e-admin-token-0123456789abcdef' });
});

// Declared after e2eSuite, so it runs after the suite stopped the cluster.
afterAll(async () => {
  await admin?.stop();
  for (const c of clients) c.close();
  for (const s of securities) if (s.kind === 'mtls') s.files.close();
  await redisServer?.destroy();
});

describe('health', () => {
  it('every instance is alive and ready: /healthz, /readyz and grpc Health.Check ("" and its service) answer SERVING', async () => {
    for (const inst of cluster.instanceInfo()) {
      const live = await probe(inst.name, '/healthz');
      expect(live).toEqual({ status: 200, body: { service: inst.service, alive: true } });
      const report = await waitReadyz(inst.name, 200, 'cluster started');
      expect(report).toMatchObject({ service: inst.service, ready: true, draining: false, reasons: [] });
      expect(report.checks['etcd-registration']).toMatchObject({ ok: true, critical: true });
      const grpcName = GRPC_NAMES[inst.service];
      if (grpcName === undefined) continue; // login has no gRPC server
      const client = healthClient(inst.name);
      expect(await check(client, '')).toBe('SERVING');
      expect(await check(client, grpcName)).toBe('SERVING');
    }
    expect(Object.keys((await probe('db-proxy-1', '/readyz')).body.checks).sort()).toEqual(
      ['etcd-registration', 'mysql:master', 'redis:group_member', 'redis:group_set', 'redis:sync', 'redis:token', 'redis:unread'].sort(),
    );
    expect(Object.keys((await probe('msg-1', '/readyz')).body.checks).sort()).toEqual(['db-proxy-live', 'etcd-registration', 'route-live']);
  });

  it('the admin HTTP service is alive, and ready while registered with a db-proxy and a route live', async () => {
    expect(await probe('admin', '/healthz')).toEqual({ status: 200, body: { service: 'admin', alive: true } });
    const report = await waitReadyz('admin', 200, 'cluster started');
    expect(report).toMatchObject({ service: 'admin', ready: true, draining: false, reasons: [] });
    expect(Object.keys(report.checks).sort()).toEqual(['db-proxy-live', 'etcd-registration', 'route-live']);
  });

  it('any cluster certificate may ask; a caller without one is refused', async () => {
    expect(await check(healthClient('route-1', as('db-proxy')), '')).toBe('SERVING');
    const pki = testPki();
    const noCert = new grpc.Client(
      `127.0.0.1:${instance('route-1').grpcPort}`,
      grpc.credentials.createSsl(readFileSync(pki.caCert), null, null, { checkServerIdentity: () => undefined }),
      { 'grpc.ssl_target_name_override': 'route' },
    );
    clients.push(noCert);
    await expect(check(noCert, '')).rejects.toMatchObject({ code: grpc.status.UNAUTHENTICATED });
  });

  it("db-proxy is NOT_SERVING with a 503 reason while its Redis is stopped, and SERVING again once it is back", async () => {
    const w = watch(healthClient('db-proxy-1'), 'tiertalk.DbProxy');
    try {
      await waitFor(() => w.statuses.at(-1) === 'SERVING', FLIP_MS, { what: 'SERVING on the Watch stream' });
      await redisServer.stop();
      await waitFor(() => w.statuses.at(-1) === 'NOT_SERVING', FLIP_MS, { what: 'NOT_SERVING after Redis stopped' });
      await waitReadyz('db-proxy-1', 503, 'Redis stopped');
      // The two connections (unread's, shared by three uses, and sync's) see the close one after the other.
      let down: ReadinessReport | undefined;
      await waitFor(
        async () => {
          down = (await probe('db-proxy-1', '/readyz')).body;
          return ['redis:unread: ', 'redis:sync: '].every((check) => down?.reasons.some((r) => r.startsWith(check)));
        },
        FLIP_MS,
        { intervalMs: 200, what: 'db-proxy-1 /readyz naming both Redis connections' },
      );
      expect(down?.ready).toBe(false);
      expect(down?.reasons.some((r) => r.startsWith('mysql'))).toBe(false);

      await redisServer.start();
      await waitFor(() => w.statuses.at(-1) === 'SERVING', FLIP_MS, { what: 'SERVING after Redis is back' });
      expect(await waitReadyz('db-proxy-1', 200, 'Redis back')).toMatchObject({ ready: true, reasons: [] });
    } finally {
      w.cancel();
    }
  });

  it('a gateway and the admin service whose db-proxy is gone are not ready, and ready again once one is back', async () => {
    await cluster.kill('db-proxy-1', 'SIGKILL');
    const down = await waitReadyz('msg-1', 503, 'db-proxy killed');
    expect(down.reasons).toEqual(['db-proxy-live: no live db-proxy instance in etcd']);
    expect(await check(healthClient('msg-1'), 'tiertalk.Gateway')).toBe('NOT_SERVING');
    expect((await waitReadyz('admin', 503, 'db-proxy killed')).reasons).toEqual(['db-proxy-live: no live db-proxy instance in etcd']);

    await cluster.startInstance('db-proxy');
    await waitReadyz('msg-1', 200, 'a db-proxy is back');
    await waitReadyz('admin', 200, 'a db-proxy is back');
  });

  it('a stopping route says NOT_SERVING before its stream ends; login without gateways stays ready with a warning', async () => {
    const w = watch(healthClient('route-1'), 'tiertalk.Route');
    await waitFor(() => w.statuses.at(-1) === 'SERVING', FLIP_MS, { what: 'SERVING on the Watch stream' });
    await cluster.kill('route-1', 'SIGTERM');
    await waitFor(() => w.ended(), FLIP_MS, { what: 'the Watch stream to end' });
    expect(w.statuses.at(-1)).toBe('NOT_SERVING');
    expect((await waitReadyz('msg-1', 503, 'route stopped')).reasons).toEqual(['route-live: no live route instance in etcd']);

    await cluster.kill('msg-1', 'SIGTERM');
    await waitFor(async () => (await probe('login', '/readyz')).body.warnings.length > 0, FLIP_MS, { what: 'login to warn of no gateway' });
    const login = await probe('login', '/readyz');
    expect(login.status).toBe(200);
    // This cluster runs no msfs either: login warns about both and stays ready.
    expect(login.body).toMatchObject({ ready: true, reasons: [], warnings: ['msg-gateways: no live msg instance in etcd', 'msfs-instances: no live msfs instance in etcd'] });
  });
});
