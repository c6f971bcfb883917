// Health checking (docs/HEALTH.md): a db-proxy whose MySQL master (a private
// MariaDB) is stopped is NOT_SERVING, /readyz 503 naming mysql:master, and is
// ready again once the same server is back.
import * as grpc from '@grpc/grpc-js';
import { HealthService, type ReadinessReport } from '@tiertalk/health';
import { createClient, mutualTls, type RpcSecurity } from '@tiertalk/rpc';
import { Cluster, PrivateMariaDb, prepareTestDatabase, testPki, waitFor } from '@tiertalk/testkit';

jest.setTimeout(180_000);

const FLIP_MS = 20_000;

let mariadb: PrivateMariaDb;
let cluster: Cluster;
let security: RpcSecurity;
let client: grpc.Client;
let metricsPort: number;

function check(service: string): Promise<string> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      HealthService.Check.path,
      HealthService.Check.requestSerialize,
      HealthService.Check.responseDeserialize,
      { service },
      { deadline: Date.now() + 5_000 },
      (err: grpc.ServiceError | null, rsp?: unknown) => (err ? reject(err) : resolve((rsp as { status: string }).status)),
    ),
  );
}

async function waitReadyz(status: 200 | 503, what: string): Promise<ReadinessReport> {
  let last: ReadinessReport | undefined;
  await waitFor(
    async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
      last = (await res.json()) as ReadinessReport;
      return res.status === status;
    },
    FLIP_MS,
    { intervalMs: 200, what: `db-proxy /readyz ${status} (${what}); last: ${JSON.stringify(last)}` },
  );
  if (!last) throw new Error('no /readyz answer');
  return last;
}

beforeAll(async () => {
  mariadb = await PrivateMariaDb.start();
  const mysqlUrl = await prepareTestDatabase('teamtalk_health', mariadb.url());
  cluster = await Cluster.start({
    dbProxy: 1,
    route: 0,
    msg: 0,
    serviceEnv: { 'db-proxy': { TT_MYSQL_MASTER_URL: mysqlUrl, TT_MYSQL_REPLICA_URL: mysqlUrl, TT_HEALTH_INTERVAL_MS: '500' } },
  });
  const [inst] = cluster.instanceInfo();
  if (inst.metricsPort === undefined) throw new Error('db-proxy has no metrics port');
  metricsPort = inst.metricsPort;
  const pki = testPki();
  security = mutualTls({ ca: pki.caCert, ...pki.certFor('admin') }, { pollIntervalMs: 0 });
  client = createClient(`127.0.0.1:${inst.grpcPort}`, security, 'db-proxy');
});

afterAll(async () => {
  client?.close();
  if (security?.kind === 'mtls') security.files.close();
  await cluster?.stop();
  await mariadb?.destroy();
});

it('db-proxy is NOT_SERVING with a 503 naming mysql:master while MySQL is stopped, and ready again once it is back', async () => {
  expect(await waitReadyz(200, 'started')).toMatchObject({ ready: true, reasons: [] });
  expect(await check('tiertalk.DbProxy')).toBe('SERVING');

  await mariadb.stop();
  const down = await waitReadyz(503, 'MySQL stopped');
  expect(down.reasons).toEqual([expect.stringMatching(/^mysql:master: /)]);
  expect(down.checks['mysql:master']).toMatchObject({ ok: false, critical: true });
  expect(await check('tiertalk.DbProxy')).toBe('NOT_SERVING');
  expect(await check('')).toBe('NOT_SERVING');

  await mariadb.start();
  expect(await waitReadyz(200, 'MySQL back')).toMatchObject({ ready: true, reasons: [] });
  expect(await check('tiertalk.DbProxy')).toBe('SERVING');
});
