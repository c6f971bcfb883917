// deploy/k8s renders with kustomize (kubectl's, pinned), every object is valid against the
// Kubernetes schemas, and the objects hang together: what `kubectl apply -k` would accept
// and what would then actually start and get traffic.
import { X509Certificate, randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commonConfigSchema, ConfigError } from '@tiertalk/config';
import { createDevPki } from '@tiertalk/tls';
import { adminHttpConfigSchema, loadAdminHttpConfig } from '../../services/admin/src/config';
import { dbProxyConfigSchema, loadDbProxyConfig } from '../../services/db-proxy/src/config';
import { httpApiConfigSchema, loadHttpApiConfig } from '../../services/http-api/src/config';
import { loadLoginConfig, loginConfigSchema } from '../../services/login/src/config';
import { loadMsfsConfig, msfsConfigSchema } from '../../services/msfs/src/config';
import { fileConfigSchema, loadFileConfig } from '../../services/file/src/config';
import { loadMsgConfig, msgConfigSchema } from '../../services/msg/src/config';
import { loadPushConfig, pushConfigSchema } from '../../services/push/src/config';
import { loadRouteConfig, routeConfigSchema } from '../../services/route/src/config';
import { containerEnvironment } from './pod-environment';
import { podSpec } from './pod-spec';
import { policyProblems } from './policy';
import { referenceProblems, workloads } from './references';
import { K8sObject, REPO_ROOT, kubectlPath, renderKustomization } from './render';
import { schemaErrors } from './schema';
import { unknownFieldProblems } from './unknown-fields';

const K8S_DIR = path.join(REPO_ROOT, 'deploy/k8s');
// Each with its own certificate (admin's is the operator certificate).
const SERVICES = ['db-proxy', 'route', 'msg', 'msfs', 'file', 'login', 'admin', 'push', 'http-api'] as const;
// What the base expects the operator to create (the example overlay generates them).
const OPERATOR_SECRETS = new Set(['tiertalk-db-proxy-secrets', 'tiertalk-migrate-secrets', 'tiertalk-route-secrets', 'tiertalk-admin-secrets', 'tiertalk-http-api-secrets', ...SERVICES.map((s) => `tiertalk-tls-${s}`)]);
// Keys each container may set: its service's configuration schema (TT_X or TT_X_FILE).
const SETTINGS: Record<string, ReadonlySet<string>> = {
  'db-proxy': new Set(Object.keys(dbProxyConfigSchema.shape)),
  route: new Set(Object.keys(routeConfigSchema.shape)),
  msg: new Set(Object.keys(msgConfigSchema.shape)),
  login: new Set(Object.keys(loginConfigSchema.shape)),
  msfs: new Set(Object.keys(msfsConfigSchema.shape)),
  file: new Set(Object.keys(fileConfigSchema.shape)),
  admin: new Set(Object.keys(adminHttpConfigSchema.shape)),
  push: new Set(Object.keys(pushConfigSchema.shape)),
  'http-api': new Set(Object.keys(httpApiConfigSchema.shape)),
  migrate: new Set(['TT_MYSQL_MIGRATE_URL', 'TT_MYSQL_MASTER_URL']),
};

let kubectl: string;
let workDir: string;
let base: K8sObject[];
let overlay: K8sObject[];

/** The example overlay with its secret files made as an operator would (examples copied, a dev PKI). */
function prepareOverlayCopy(): string {
  // Without secret files someone may have put into the working tree's example.
  const ownSecrets = path.join(K8S_DIR, 'overlays/example/secrets');
  const tracked = (src: string) => path.dirname(src) !== ownSecrets || /(\.env\.example|README\.md|\.gitignore)$/.test(src);
  cpSync(K8S_DIR, path.join(workDir, 'k8s'), { recursive: true, filter: tracked });
  const secrets = path.join(workDir, 'k8s/overlays/example/secrets');
  for (const f of readdirSync(secrets).filter((n) => n.endsWith('.env.example'))) {
    copyFileSync(path.join(secrets, f), path.join(secrets, f.replace(/\.example$/, '')));
  }
  // The operator's own message key in place of the placeholder (which db-proxy refuses).
  const dbProxyEnv = path.join(secrets, 'db-proxy.env');
  writeFileSync(dbProxyEnv, readFileSync(dbProxyEnv, 'utf8').replace(/^aes-key=.*$/m, `aes-key=${randomBytes(16).toString('hex')}`));
  // And the admin API's token.
  const adminEnv = path.join(secrets, 'admin.env');
  writeFileSync(adminEnv, readFileSync(adminEnv, 'utf8').replace(/^admin-token=.*$/m, `admin-token=${randomBytes(32).toString('hex')}`));
  // And the send API's token and message key.
  const httpApiEnv = path.join(secrets, 'http-api.env');
  writeFileSync(
    httpApiEnv,
    readFileSync(httpApiEnv, 'utf8')
      .replace(/^http-api-token=.*$/m, `http-api-token=${randomBytes(32).toString('hex')}`)
      .replace(/^aes-key=.*$/m, `aes-key=${randomBytes(16).toString('hex')}`),
  );
  createDevPki(path.join(secrets, 'tls'), [...SERVICES, 'public']);
  cpSync(path.join(secrets, 'tls/public.crt'), path.join(secrets, 'client-tls/tls.crt'));
  cpSync(path.join(secrets, 'tls/public.key'), path.join(secrets, 'client-tls/tls.key'));
  return path.join(workDir, 'k8s/overlays/example');
}

beforeAll(() => {
  kubectl = kubectlPath();
  workDir = mkdtempSync(path.join(tmpdir(), 'tt-k8s-'));
  base = renderKustomization(path.join(K8S_DIR, 'base'), kubectl);
  overlay = renderKustomization(prepareOverlayCopy(), kubectl);
});

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const names = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name).sort();
const find = (objects: K8sObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (o === undefined) throw new Error(`${kind}/${name} not rendered`);
  return o;
};

describe.each([
  ['base', () => base, OPERATOR_SECRETS],
  ['overlays/example', () => overlay, new Set<string>()],
])('deploy/k8s/%s', (_name, objects, externalSecrets) => {
  test('has every tier: Deployments for db-proxy, route, msfs, file, login, admin, push and http-api, a StatefulSet of gateways, budgets and autoscalers', () => {
    expect(names(objects(), 'Deployment')).toEqual(['admin', 'db-proxy', 'file', 'http-api', 'login', 'msfs', 'push', 'route']);
    expect(names(objects(), 'StatefulSet')).toEqual(['msg']);
    expect(names(objects(), 'PodDisruptionBudget')).toEqual(['db-proxy', 'http-api', 'login', 'msg', 'push', 'route']);
    expect(names(objects(), 'HorizontalPodAutoscaler')).toEqual(['db-proxy', 'login', 'route']);
  });

  test('every object is valid against the Kubernetes schema of its apiVersion and kind', () => {
    expect(objects().flatMap(schemaErrors)).toEqual([]);
  });

  test('no object has a field its kind does not know (a typo would be dropped by the API server)', () => {
    expect(unknownFieldProblems(objects())).toEqual([]);
  });

  test('probes, Services, budgets, autoscalers and ConfigMap/Secret references resolve', () => {
    expect(referenceProblems(objects(), { externalSecrets })).toEqual([]);
  });

  test('every container has liveness and readiness probes, requests, runs as non-root on a read-only root', () => {
    expect(policyProblems(objects())).toEqual([]);
  });

  test('every environment variable is a setting of that service (or its _FILE form)', () => {
    const unknown: string[] = [];
    for (const w of workloads(objects())) {
      for (const c of [...(w.pod.initContainers ?? []), ...w.pod.containers]) {
        const known = SETTINGS[c.name];
        if (known === undefined) {
          unknown.push(`${w.obj.metadata.name}: container ${c.name} has no known settings`);
          continue;
        }
        for (const e of c.env ?? []) if (!known.has(e.name.replace(/_FILE$/, ''))) unknown.push(`${c.name}: ${e.name}`);
      }
    }
    for (const cm of objects().filter((o) => o.kind === 'ConfigMap')) {
      const service = cm.metadata.name.replace(/^tiertalk-/, '').replace(/-[a-z0-9]{10}$/, '');
      const known = service === 'common' ? new Set(Object.keys(commonConfigSchema.shape)) : SETTINGS[service];
      for (const key of Object.keys((cm.data as Record<string, string>) ?? {})) if (!known?.has(key.replace(/_FILE$/, ''))) unknown.push(`ConfigMap ${cm.metadata.name}: ${key}`);
    }
    expect(unknown).toEqual([]);
  });

  test('each gateway advertises its own node address and the port clients dial there', () => {
    const msg = podSpec(find(objects(), 'StatefulSet', 'msg')).containers[0];
    const env = new Map((msg.env ?? []).map((e) => [e.name, e]));
    expect(env.get('TT_IP1')?.valueFrom?.fieldRef?.fieldPath).toBe('status.hostIP');
    expect(env.get('TT_INSTANCE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
    expect(env.get('TT_GRPC_HOST')?.valueFrom?.fieldRef?.fieldPath).toBe('status.podIP');
    const tcp = msg.ports?.find((p) => p.containerPort === Number(env.get('TT_TCP_PORT')?.value));
    expect(tcp?.hostPort).toBe(tcp?.containerPort);
  });
});

describe('each service accepts the configuration the example overlay gives its pods (as it would at start-up)', () => {
  const facts = { podIP: '10.1.2.3', hostIP: '192.0.2.10' };
  const environment = (kind: string, name: string, container = name) =>
    containerEnvironment(overlay, podSpec(find(overlay, kind, name)), container, { ...facts, podName: `${name}-0` }, path.join(workDir, 'pod-files', name));

  test('db-proxy: URLs and the message key read from its Secret files', () => {
    const c = loadDbProxyConfig(environment('Deployment', 'db-proxy'));
    expect(c.TT_MYSQL_MASTER_URL).toBe('mysql://tiertalk:CHANGE-ME@mariadb.example.internal:3306/teamtalk');
    expect(c.TT_REDIS_SYNC_URL).toBe('redis://tiertalk:CHANGE-ME@redis.example.internal:6379/2');
    expect([c.TT_GRPC_HOST, c.TT_GRPC_PORT, c.TT_METRICS_PORT, c.TT_INSTANCE_ID]).toEqual(['10.1.2.3', 10600, 9600, 'db-proxy-0']);
    expect(c.TT_ETCD_ENDPOINTS[0]).toBe('https://etcd-0.example.internal:2379');
  });

  test('db-proxy refuses the example\'s placeholder message key, naming the setting', () => {
    const example = readFileSync(path.join(K8S_DIR, 'overlays/example/secrets/db-proxy.env.example'), 'utf8');
    const env = environment('Deployment', 'db-proxy');
    writeFileSync(env.TT_AES_KEY_FILE, /^aes-key=(.*)$/m.exec(example)?.[1] ?? '');
    expect(() => loadDbProxyConfig(env)).toThrow(/TT_AES_KEY/);
  });

  test('db-proxy\'s migrations get the DDL account', () => {
    const url = new URL(environment('Deployment', 'db-proxy', 'migrate').TT_MYSQL_MIGRATE_URL);
    expect([url.username, url.pathname]).toEqual(['tiertalk_migrate', '/teamtalk']);
  });

  test('route: the session registry URL from its Secret file', () => {
    const c = loadRouteConfig(environment('Deployment', 'route'));
    expect(c.TT_SESSION_REDIS_URL).toBe('redis://tiertalk:CHANGE-ME@redis.example.internal:6379/3');
  });

  test('msg: advertises the node address, plain TCP 8000, TLS 8443 and WebSocket 8400', () => {
    const c = loadMsgConfig(environment('StatefulSet', 'msg'));
    expect([c.ip1, c.ip2, c.tcpPort, c.tlsTcpPort, c.wsPort, c.instanceId, c.grpcHost]).toEqual(['192.0.2.10', '192.0.2.10', 8000, 8443, 8400, 'msg-0', '10.1.2.3']);
    expect(c.clientTls?.ws).toBe(true);
  });

  test('push: gRPC 8500 on the pod address, metrics 9500, Android tokens to the webhook signed with the key from its Secret file', () => {
    const c = loadPushConfig(environment('Deployment', 'push'));
    expect([c.TT_GRPC_HOST, c.TT_GRPC_PORT, c.TT_METRICS_PORT, c.TT_INSTANCE_ID]).toEqual(['10.1.2.3', 8500, 9500, 'push-0']);
    expect([c.TT_PUSH_IOS_PROVIDER, c.TT_PUSH_ANDROID_PROVIDER, c.TT_WEBHOOK_URL]).toEqual(['apns', 'webhook', 'https://push-gateway.example.internal/tiertalk']);
    expect(c.TT_WEBHOOK_SECRET).toMatch(/^CHANGE-ME/);
  });

  test('login: HTTP 8080 on every address, legacy TCP 8008', () => {
    const c = loadLoginConfig(environment('Deployment', 'login'));
    expect([c.TT_HTTP_HOST, c.TT_HTTP_PORT, c.TT_LEGACY_TCP_PORT, c.TT_MSFS_URL]).toEqual(['0.0.0.0', 8080, 8008, 'https://files.example.com/']);
  });

  test('msfs: HTTP 8700 on every address, files on its volume, metrics on the pod address 9800, the public URL clients use', () => {
    const c = loadMsfsConfig(environment('Deployment', 'msfs'));
    expect([c.TT_MSFS_HTTP_HOST, c.TT_MSFS_HTTP_PORT, c.TT_MSFS_STORAGE, c.TT_MSFS_DIR, c.TT_METRICS_HOST, c.TT_METRICS_PORT, c.TT_MSFS_PUBLIC_URL]).toEqual([
      '0.0.0.0', 8700, 'local', '/var/lib/tiertalk/msfs', '10.1.2.3', 9800, 'https://files.example.com/',
    ]);
  });

  test('file: transfers on 8610 on every address, gRPC on the pod address 8510, msfs\'s files, the address clients dial', () => {
    const c = loadFileConfig(environment('Deployment', 'file'));
    expect([c.TT_FILE_HOST, c.TT_FILE_PORT, c.TT_GRPC_HOST, c.TT_GRPC_PORT, c.TT_MSFS_STORAGE, c.TT_MSFS_DIR, c.TT_METRICS_PORT, c.TT_FILE_PUBLIC_IP, c.TT_FILE_PUBLIC_PORT]).toEqual([
      '0.0.0.0', 8610, '10.1.2.3', 8510, 'local', '/var/lib/tiertalk/msfs', 9850, 'transfer.example.com', 8610,
    ]);
  });

  test('admin: the API on 8600 on every address, metrics and probes on the pod address 9700, the token from its Secret file', () => {
    const env = environment('Deployment', 'admin');
    const c = loadAdminHttpConfig(env);
    expect([c.TT_ADMIN_HTTP_HOST, c.TT_ADMIN_HTTP_PORT, c.TT_METRICS_HOST, c.TT_METRICS_PORT, c.TT_INSTANCE_ID]).toEqual(['0.0.0.0', 8600, '10.1.2.3', 9700, 'admin-0']);
    expect(c.TT_ADMIN_TOKEN).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(env.TT_TLS_CERT, 'utf8')).toContain('BEGIN CERTIFICATE');
  });

  test('http-api: the API on 8900 on every address, metrics on the pod address 9900, token and message key from its Secret files', () => {
    const env = environment('Deployment', 'http-api');
    const c = loadHttpApiConfig(env);
    expect([c.TT_HTTP_API_HOST, c.TT_HTTP_API_PORT, c.TT_METRICS_HOST, c.TT_METRICS_PORT, c.TT_INSTANCE_ID]).toEqual(['0.0.0.0', 8900, '10.1.2.3', 9900, 'http-api-0']);
    expect(c.TT_HTTP_API_TOKEN).toMatch(/^[0-9a-f]{64}$/);
    expect(c.TT_AES_KEY).toMatch(/^[0-9a-f]{32}$/);
  });

  test('admin refuses the example\'s placeholder token, naming the setting', () => {
    const example = readFileSync(path.join(K8S_DIR, 'overlays/example/secrets/admin.env.example'), 'utf8');
    const env = environment('Deployment', 'admin');
    writeFileSync(env.TT_ADMIN_TOKEN_FILE, /^admin-token=(.*)$/m.exec(example)?.[1] ?? '');
    expect(() => loadAdminHttpConfig(env)).toThrow(ConfigError);
    expect(() => loadAdminHttpConfig(env)).toThrow(/TT_ADMIN_TOKEN/);
  });
});

test('the example overlay mounts into each tier the certificate naming that tier (spiffe://tiertalk/<service>)', () => {
  const mismatches: string[] = [];
  for (const service of SERVICES) {
    const spec = podSpec(find(overlay, service === 'msg' ? 'StatefulSet' : 'Deployment', service));
    const tlsVolume = spec.volumes?.find((v) => v.name === 'tls')?.secret?.secretName ?? '(none)';
    const secret = overlay.find((o) => o.kind === 'Secret' && o.metadata.name === tlsVolume);
    const pem = Buffer.from((secret?.data as Record<string, string> | undefined)?.['tls.crt'] ?? '', 'base64');
    const san = pem.length > 0 ? new X509Certificate(pem).subjectAltName ?? '' : '';
    if (!san.includes(`URI:spiffe://tiertalk/${service}`)) mismatches.push(`${service}: Secret ${tlsVolume} has SAN "${san}"`);
  }
  expect(mismatches).toEqual([]);
});

test('the example overlay adds the TLS client port to the gateways with the public certificate', () => {
  const msg = podSpec(find(overlay, 'StatefulSet', 'msg')).containers[0];
  expect(msg.ports?.find((p) => p.name === 'client-tls')).toEqual({ name: 'client-tls', containerPort: 8443, hostPort: 8443 });
  expect(msg.env?.find((e) => e.name === 'TT_TLS_TCP_PORT')?.value).toBe('8443');
  expect(find(overlay, 'Secret', 'tiertalk-client-tls').type).toBe('kubernetes.io/tls');
});

test('the admin API: one replica, a ClusterIP Service for its API port only, probes on its metrics port', () => {
  const admin = find(overlay, 'Deployment', 'admin') as K8sObject & { spec: { replicas: number } };
  expect(admin.spec.replicas).toBe(1);
  expect(find(overlay, 'Service', 'admin').spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'http', port: 8600, targetPort: 'http' }] });
  const c = podSpec(admin).containers[0];
  expect(c.ports).toEqual([{ name: 'http', containerPort: 8600 }, { name: 'metrics', containerPort: 9700 }]);
  expect([c.livenessProbe?.httpGet, c.readinessProbe?.httpGet]).toEqual([{ path: '/healthz', port: 'metrics' }, { path: '/readyz', port: 'metrics' }]);
  // Not scaled or budgeted like the tiers.
  expect(overlay.filter((o) => ['HorizontalPodAutoscaler', 'PodDisruptionBudget'].includes(o.kind) && o.metadata.name === 'admin')).toEqual([]);
});

describe('a broken manifest is reported', () => {
  const broken = (mutate: (objects: K8sObject[]) => void): K8sObject[] => {
    const copy = structuredClone(base);
    mutate(copy);
    return copy;
  };
  const deployment = (objects: K8sObject[], name: string) => find(objects, 'Deployment', name) as K8sObject & { spec: Record<string, unknown> };

  test('a field of the wrong type fails the schema check', () => {
    const objects = broken((o) => {
      deployment(o, 'route').spec.replicas = 'two';
    });
    expect(objects.flatMap(schemaErrors)).toEqual([expect.stringContaining('Deployment/route: data/spec/replicas must be integer')]);
  });

  test('an unknown apiVersion fails the schema check', () => {
    const objects = broken((o) => {
      find(o, 'HorizontalPodAutoscaler', 'login').apiVersion = 'autoscaling/v9';
    });
    expect(objects.flatMap(schemaErrors)).toEqual(['HorizontalPodAutoscaler/login: no Kubernetes schema for autoscaling/v9 HorizontalPodAutoscaler (is the apiVersion right?)']);
  });

  test('a misspelt field is named, with the type it is not part of', () => {
    const objects = broken((o) => {
      const c = podSpec(find(o, 'StatefulSet', 'msg')).containers[0] as unknown as Record<string, unknown>;
      c.livenesProbe = c.livenessProbe;
    });
    expect(unknownFieldProblems(objects)).toEqual([`StatefulSet/msg: Object literal may only specify known properties, and '"livenesProbe"' does not exist in type 'IContainer'.`]);
  });

  test.each([
    ['probes on a renamed port', (o: K8sObject[]) => {
      podSpec(deployment(o, 'db-proxy')).containers[0].ports = [{ name: 'grpc', containerPort: 10600 }, { name: 'prometheus', containerPort: 9600 }];
    }, ...['liveness', 'readiness', 'startup'].map((p) => `Deployment/db-proxy container db-proxy: ${p}Probe port "metrics" is not a named containerPort`)],
    ['a port name the API server refuses', (o: K8sObject[]) => {
      const ports = podSpec(find(o, 'StatefulSet', 'msg')).containers[0].ports ?? [];
      ports[0].name = 'client-websocket';
    }, 'StatefulSet/msg container msg: port name "client-websocket" is not an IANA service name (at most 15 of a-z, 0-9, \'-\')'],
    ['a Service selecting no pods', (o: K8sObject[]) => {
      (find(o, 'Service', 'login').spec as { selector: Record<string, string> }).selector = { 'app.kubernetes.io/name': 'logn' };
    }, 'Service/login: selector {"app.kubernetes.io/name":"logn"} matches no pod template'],
    ['a budget selecting no pods', (o: K8sObject[]) => {
      (find(o, 'PodDisruptionBudget', 'msg').spec as { selector: object }).selector = { matchLabels: { 'app.kubernetes.io/name': 'gateway' } };
    }, 'PodDisruptionBudget/msg: selector matches no pod template'],
    ['an autoscaler of a missing Deployment', (o: K8sObject[]) => {
      (find(o, 'HorizontalPodAutoscaler', 'route').spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name = 'router';
    }, 'HorizontalPodAutoscaler/route: scaleTargetRef Deployment/router is not rendered'],
    ['a missing ConfigMap', (o: K8sObject[]) => {
      o.splice(o.findIndex((x) => x.kind === 'ConfigMap' && x.metadata.name.startsWith('tiertalk-route-')), 1);
    }, expect.stringMatching(/^Deployment\/route container route: ConfigMap tiertalk-route-\w+ does not exist$/)],
    ['a port setting that is not a declared port', (o: K8sObject[]) => {
      podSpec(deployment(o, 'route')).containers[0].env?.push({ name: 'TT_METRICS_PORT', value: '9201' });
    }, 'Deployment/route container route env TT_METRICS_PORT=9201: not a declared containerPort'],
  ] as [string, (o: K8sObject[]) => void, ...unknown[]][])('%s', (_what, mutate, ...problems) => {
    expect(referenceProblems(broken(mutate), { externalSecrets: OPERATOR_SECRETS })).toEqual(problems);
  });

  test('a file read from a Secret key that the Secret lacks', () => {
    const objects = structuredClone(overlay);
    const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name.startsWith('tiertalk-db-proxy-secrets-')) as K8sObject & { data: Record<string, string> };
    delete secret.data['aes-key'];
    expect(referenceProblems(objects)).toEqual([`Deployment/db-proxy container db-proxy env TT_AES_KEY_FILE=/etc/tiertalk/secrets/aes-key: Secret ${secret.metadata.name} mounted at /etc/tiertalk/secrets has no aes-key`]);
  });

  test('a container without probes, requests or its security context', () => {
    const objects = broken((o) => {
      const c = podSpec(deployment(o, 'login')).containers[0];
      delete c.readinessProbe;
      delete c.resources;
      c.securityContext = { readOnlyRootFilesystem: false };
    });
    expect(policyProblems(objects)).toEqual(['no readinessProbe', 'no cpu and memory requests', 'allowPrivilegeEscalation is not false', 'root filesystem is not read-only'].map((p) => `Deployment/login container login: ${p}`));
  });

  test('a kustomization naming a missing file fails to render, with kustomize\'s reason', () => {
    const dir = path.join(workDir, 'broken');
    cpSync(path.join(K8S_DIR, 'base'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources:\n  - db-proxy.yaml\n  - gateway.yaml\n');
    expect(() => renderKustomization(dir, kubectl)).toThrow(/gateway\.yaml/);
  });
});
