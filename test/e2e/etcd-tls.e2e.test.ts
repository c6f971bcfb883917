// etcd with TLS and client-certificate auth (what `make up` runs): only a
// holder of a cluster certificate can register or watch, so nobody else can
// publish a fake db-proxy; and a cluster runs against it end to end.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@tiertalk/log';
import { Registry, etcdAccessFromConfig, type RegistryOptions } from '@tiertalk/registry';
import { Cluster, PrivateEtcd, flushTestRedis, prepareTestDatabase, testPki } from '@tiertalk/testkit';
import { createDevPki, type DevPki } from '@tiertalk/tls';

jest.setTimeout(90_000);

const logger = createLogger({ service: 'etcd-tls-test', instanceId: 't', level: 'silent' });
let etcd: PrivateEtcd;
let pki: DevPki;
let otherDir: string;
let otherPki: DevPki;

function connect(access: Pick<RegistryOptions, 'tls' | 'auth'>): Promise<Registry> {
  return Registry.connect({ endpoints: [etcd.endpoint], prefix: '/tt-etcd-tls', leaseTtlSec: 3, logger, ...access });
}

beforeAll(async () => {
  pki = testPki();
  createDevPki(pki.dir, ['etcd']);
  otherDir = mkdtempSync(path.join(os.tmpdir(), 'tt-other-ca-'));
  otherPki = createDevPki(otherDir, ['msg']);
  etcd = await PrivateEtcd.start({
    ca: pki.caCert,
    ...pki.certFor('etcd'),
    probeCert: pki.certFor('admin').cert,
    probeKey: pki.certFor('admin').key,
  });
});

afterAll(async () => {
  await etcd?.destroy();
  rmSync(otherDir, { recursive: true, force: true });
});

it('lets a service with a cluster certificate register, and nobody else', async () => {
  const tier = (cert: string, key: string) => ({ TT_ETCD_ENDPOINTS: [etcd.endpoint], TT_TLS_CA: pki.caCert, TT_TLS_CERT: cert, TT_TLS_KEY: key });
  const good = await connect(etcdAccessFromConfig(tier(pki.certFor('db-proxy').cert, pki.certFor('db-proxy').key)));
  const reg = await good.register({ id: 'db-1', service: 'db-proxy', addr: '127.0.0.1:1', load: 0, meta: {} });
  const watch = await good.watch('db-proxy');
  expect(watch.list().map((i) => i.id)).toEqual(['db-1']);

  // No client certificate, or one from another CA: etcd refuses the connection.
  await expect(connect(etcdAccessFromConfig({ TT_ETCD_ENDPOINTS: [etcd.endpoint], TT_ETCD_CA: pki.caCert }))).rejects.toMatchObject({ code: 'ETCD_UNAVAILABLE' });
  await expect(
    connect(etcdAccessFromConfig({ TT_ETCD_ENDPOINTS: [etcd.endpoint], TT_ETCD_CA: pki.caCert, TT_ETCD_CERT: otherPki.certFor('msg').cert, TT_ETCD_KEY: otherPki.certFor('msg').key })),
  ).rejects.toMatchObject({ code: 'ETCD_UNAVAILABLE' });

  await reg.deregister();
  await good.close();
});

it('refuses contradictory etcd settings with a config error', () => {
  expect(() => etcdAccessFromConfig({ TT_ETCD_ENDPOINTS: ['http://127.0.0.1:2379'], TT_ETCD_CA: pki.caCert })).toThrow(/TT_ETCD_CA: set, but TT_ETCD_ENDPOINTS are plain http/);
  expect(() => etcdAccessFromConfig({ TT_ETCD_ENDPOINTS: [etcd.endpoint] })).toThrow(/TT_ETCD_CA: expected the CA file/);
  expect(() => etcdAccessFromConfig({ TT_ETCD_ENDPOINTS: ['http://127.0.0.1:2379'], TT_ETCD_USERNAME: 'tt' })).toThrow(/TT_ETCD_USERNAME and TT_ETCD_PASSWORD together/);
});

it('runs a cluster on it: services reach etcd with their own certificates', async () => {
  await prepareTestDatabase();
  await flushTestRedis();
  const cluster = await Cluster.start({ dbProxy: 1, route: 1, msg: 1, login: true, etcdEndpoints: [etcd.endpoint], etcdTls: { ca: pki.caCert, ...pki.certFor('admin') } });
  try {
    const res = await fetch(cluster.msgServerUrl);
    expect(await res.json()).toMatchObject({ code: 0 });
  } finally {
    await cluster.stop();
  }
});
