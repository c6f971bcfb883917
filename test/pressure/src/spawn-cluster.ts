// --spawn-cluster: a throwaway cluster from @tiertalk/testkit (real MariaDB,
// Redis, etcd; service processes from services/*/dist). Loaded lazily by
// main.ts so runs against an existing cluster never touch testkit.
import { Cluster, flushTestRedis, prepareTestDatabase } from '@tiertalk/testkit';
import type { GatewayAddr } from './options';

export interface SpawnedCluster {
  mysqlUrl: string;
  loginUrl: string;
  gateways: { name: string; tcp: GatewayAddr; ws: GatewayAddr }[];
  /** What was started, for the report. */
  description: string;
  /** TT_GROUP_PUSH_CONTROL of its gateways. */
  groupPushControl: boolean;
  /** Its service processes (pids for --mode group's CPU/RSS sampling). */
  processes(): { name: string; service: string; pid: number | undefined; inspectPort: number | undefined }[];
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** TT_MSG_RATE_PER_SEC for the gateways (0 = unlimited). */
  msgRatePerSec: number;
  /** TT_GROUP_PUSH_CONTROL for the gateways (default true, the gateways' own default). */
  groupPushControl?: boolean;
  /** Gateways run with the V8 inspector on loopback (testkit ClusterSpec.inspect): GC, memory and heap snapshots for idle-conns. */
  inspectGateways?: boolean;
  /**
   * db-proxy hashes with the cheapest argon2id it accepts (1 MiB, 1 pass): for runs that measure the gateways, not
   * logins (idle-conns), so that thousands of logins are not bound by password hashing on a small machine.
   */
  cheapPasswordHashes?: boolean;
}

export async function spawnCluster(opts: SpawnOptions): Promise<SpawnedCluster> {
  const mysqlUrl = await prepareTestDatabase();
  await flushTestRedis();
  const groupPushControl = opts.groupPushControl ?? true;
  const spec = { dbProxy: 1, route: 1, msg: 2, login: true } as const;
  // The tiers speak mutual TLS like production; TT_BENCH_GRPC_INSECURE=true measures them in plaintext (A/B of TLS's cost).
  const insecure = process.env.TT_BENCH_GRPC_INSECURE === 'true';
  const cluster = await Cluster.start({
    ...spec,
    insecure,
    inspect: opts.inspectGateways === true ? ['msg'] : [],
    serviceEnv: {
      ...(opts.cheapPasswordHashes === true ? { 'db-proxy': { TT_ARGON2_MEMORY_KIB: '1024', TT_ARGON2_TIME_COST: '1' } } : {}),
      msg: { TT_MSG_RATE_PER_SEC: String(opts.msgRatePerSec), TT_GROUP_PUSH_CONTROL: String(groupPushControl) } },
    // Per-message logs would measure the logger, not the cluster.
    env: { TT_LOG_LEVEL: 'warn' },
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
      `TT_MSG_RATE_PER_SEC=${opts.msgRatePerSec}, TT_GROUP_PUSH_CONTROL=${groupPushControl}, TT_LOG_LEVEL=warn, ` +
      `gRPC between tiers ${insecure ? 'plaintext (TT_BENCH_GRPC_INSECURE)' : 'mutual TLS'}` +
      (opts.inspectGateways === true ? '; gateways with the V8 inspector on loopback (bench only)' : '') +
      (opts.cheapPasswordHashes === true ? '; db-proxy argon2id at 1 MiB, 1 pass (logins not measured)' : ''),
    groupPushControl,
    processes: () => cluster.instanceInfo().map((i) => ({ name: i.name, service: i.service, pid: i.pid, inspectPort: i.inspectPort })),
    stop: () => cluster.stop(),
  };
}
