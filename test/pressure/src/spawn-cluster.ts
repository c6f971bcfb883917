// --spawn-cluster: a throwaway cluster from @tiertalk/testkit (real MariaDB,
// Redis, etcd; service processes from services/*/dist). Loaded lazily by
// main.ts so runs against an existing cluster never touch testkit.
import { Cluster, flushTestRedis, prepareTestDatabase } from '@tiertalk/testkit';
import type { SpawnOptions } from './cluster-settings';
import type { GatewayAddr } from './options';

export type { SpawnOptions };

export interface SpawnedCluster {
  mysqlUrl: string;
  loginUrl: string;
  gateways: { name: string; tcp: GatewayAddr; ws: GatewayAddr }[];
  /** What was started, for the report. */
  description: string;
  /** What it was started with (a scenario that needs other settings gets a cluster of its own). */
  config: Required<SpawnOptions>;
  /** Its service processes (pids for --mode group's CPU/RSS sampling). */
  processes(): { name: string; service: string; pid: number | undefined; inspectPort: number | undefined; metricsPort: number | undefined }[];
  stop(): Promise<void>;
}

export async function spawnCluster(opts: SpawnOptions): Promise<SpawnedCluster> {
  const mysqlUrl = await prepareTestDatabase();
  await flushTestRedis();
  const groupPushControl = opts.groupPushControl ?? true;
  const spec = { dbProxy: 1, route: 1, msg: 2, login: true } as const;
  // The tiers speak mutual TLS like production; TT_BENCH_GRPC_INSECURE=true measures them in plaintext (A/B of TLS's cost).
  const insecure = process.env.TT_BENCH_GRPC_INSECURE === 'true';
  // TT_BENCH_SERVICE_ENV="KEY=VALUE,..." for every service (an A/B of a setting); a service ignores keys it does not know.
  const extraEnv = parseServiceEnv(process.env.TT_BENCH_SERVICE_ENV ?? '');
  const cluster = await Cluster.start({
    ...spec,
    insecure,
    inspect: opts.inspectGateways === true ? ['msg'] : [],
    serviceEnv: {
      ...(opts.cheapPasswordHashes === true ? { 'db-proxy': { TT_ARGON2_MEMORY_KIB: '1024', TT_ARGON2_TIME_COST: '1' } } : {}),
      msg: {
        // 'default' sets nothing: the flood control (TT_MSG_RATE_PER_SEC, TT_USER_RATE_*) is the gateway's config.ts default, as under `make up`.
        ...(opts.msgRatePerSec === 'default' ? {} : { TT_MSG_RATE_PER_SEC: String(opts.msgRatePerSec) }),
        TT_GROUP_PUSH_CONTROL: String(groupPushControl),
      },
    },
    // Per-message logs would measure the logger, not the cluster. The etcd lease TTL is the services' default (5 s, as
    // make up runs them), not testkit's 3 s for quick failover tests: on a loaded machine 3 s lapses and clients see "no msg server".
    env: { TT_LOG_LEVEL: 'warn', TT_LEASE_TTL_SEC: '5', ...extraEnv },
  });
  return {
    mysqlUrl,
    loginUrl: cluster.loginUrl,
    gateways: cluster.gateways().map((g) => ({
      name: g.name,
      tcp: { host: '127.0.0.1', port: g.tcpPort },
      ws: { host: '127.0.0.1', port: g.wsPort },
    })),
    description:
      `spawned cluster (testkit): ${spec.dbProxy} db-proxy, ${spec.route} route, ${spec.msg} msg, login; ` +
      `${opts.msgRatePerSec === 'default' ? 'flood control at the gateway defaults (TT_MSG_RATE_PER_SEC unset = 20/s per connection)' : `TT_MSG_RATE_PER_SEC=${opts.msgRatePerSec}`}, ` +
      `login lockouts per client IP raised by testkit (every client is 127.0.0.1), TT_GROUP_PUSH_CONTROL=${groupPushControl}, TT_LOG_LEVEL=warn, TT_LEASE_TTL_SEC=5, ` +
      `gRPC between tiers ${insecure ? 'plaintext (TT_BENCH_GRPC_INSECURE)' : 'mutual TLS'}` +
      (opts.inspectGateways === true ? '; gateways with the V8 inspector on loopback (bench only)' : '') +
      (opts.cheapPasswordHashes === true ? '; db-proxy argon2id at 1 MiB, 1 pass (logins not measured)' : '') +
      Object.entries(extraEnv).map(([k, v]) => `, ${k}=${v}`).join(''),
    config: { msgRatePerSec: opts.msgRatePerSec, groupPushControl, inspectGateways: opts.inspectGateways === true, cheapPasswordHashes: opts.cheapPasswordHashes === true },
    processes: () => cluster.instanceInfo().map((i) => ({ name: i.name, service: i.service, pid: i.pid, inspectPort: i.inspectPort, metricsPort: i.metricsPort })),
    stop: () => cluster.stop(),
  };
}

function parseServiceEnv(spec: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of spec.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || !pair.startsWith('TT_')) throw new Error(`TT_BENCH_SERVICE_ENV: expected TT_KEY=VALUE, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
