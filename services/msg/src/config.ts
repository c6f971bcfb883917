import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { bool, commonConfigSchema, intRange, loadConfig, nonEmptyString, port, positiveInt } from '@tiertalk/config';
import type { EtcdAccessConfig } from '@tiertalk/registry';
import type { GrpcSecurityConfig } from '@tiertalk/rpc';

const MIB = 1024 * 1024;

/** Every key the gateway reads (docs/ARCHITECTURE.md tiers table plus the limits below). */
export const msgConfigSchema = commonConfigSchema.extend({
  TT_LISTEN_HOST: nonEmptyString('0.0.0.0'),
  TT_TCP_PORT: port(8000),
  TT_WS_PORT: port(8400),
  TT_GRPC_PORT: port(8300),
  // What the login server hands to clients (flows.md §1a priorIP / backupIP).
  TT_IP1: nonEmptyString('127.0.0.1'),
  TT_IP2: nonEmptyString().optional(),
  TT_MAX_CONN: positiveInt(100_000),
  // protocol.md §1: TeamTalk has no limit; 1 MiB is the recommended bound.
  TT_MAX_FRAME_BYTES: intRange(16, 64 * MIB, MIB),
  TT_LOGIN_TIMEOUT_MS: positiveInt(15_000),
  TT_PC_IDLE_TIMEOUT_MS: positiveInt(120_000),
  TT_MOBILE_IDLE_TIMEOUT_MS: positiveInt(300_000),
  // flows.md §3: TeamTalk allows 20 IMMsgData per second per connection; 0 = unlimited.
  TT_MSG_RATE_PER_SEC: intRange(0, 1_000_000, 20),
  // How a rate-limited or unstorable IMMsgData is answered: `ack0` = IMMsgDataAck{msg_id 0} (a clear
  // refusal, the SDK's NOT_STORED); `silent` = TeamTalk's silent drop (the client times out).
  TT_RATE_LIMIT_ANSWER: z.enum(['ack0', 'silent'], { error: 'expected ack0 or silent' }).default('ack0'),
  TT_DB_DEADLINE_MS: positiveInt(5_000),
  // How long the gateway retries storing a message (across db-proxy instances) before it refuses the send.
  TT_STORE_DEADLINE_MS: positiveInt(10_000),
  TT_ROUTE_DEADLINE_MS: positiveInt(5_000),
  TT_STORE_BATCH_MAX: positiveInt(256),
  // Keep-alive of this gateway's sessions in route (Route.SyncSessions); route's
  // TT_SESSION_SYNC_INTERVAL_MS must be the same (it purges gateways unseen for 3 of them).
  TT_SESSION_SYNC_INTERVAL_MS: positiveInt(30_000),
  // Outbound backpressure per client connection (style.md, backpressure).
  TT_MAX_OUTBOUND_BYTES: positiveInt(4 * MIB),
  TT_DRAIN_TIMEOUT_MS: positiveInt(30_000),
  // Traffic control of group pushes (src/group-push): deliveries per interval, queue bound, timeout.
  TT_GROUP_PUSH_CONTROL: bool(true),
  TT_GROUP_PUSH_TICKETS: positiveInt(2_000),
  TT_GROUP_PUSH_INTERVAL_MS: positiveInt(1_000),
  TT_GROUP_PUSH_QUEUE_MAX: positiveInt(200_000),
  TT_GROUP_PUSH_TIMEOUT_MS: positiveInt(30_000),
});

export interface MsgConfig {
  /** etcd instance id (TT_INSTANCE_ID). */
  readonly instanceId: string;
  /** Random per process; published in the etcd entry's meta. */
  readonly epoch: string;
  /** `<instanceId>@<epoch>`: the gateway id of this process's sessions in route. */
  readonly gatewayId: string;
  readonly etcdEndpoints: readonly string[];
  readonly etcdPrefix: string;
  readonly leaseTtlSec: number;
  readonly logLevel: string;
  readonly grpcHost: string;
  readonly grpcPort: number;
  readonly listenHost: string;
  readonly tcpPort: number;
  readonly wsPort: number;
  readonly ip1: string;
  readonly ip2: string;
  readonly maxConn: number;
  readonly conn: ConnectionLimits;
  /** Budget of one unary db-proxy call (Validate, forwarded requests), failover included. */
  readonly dbDeadlineMs: number;
  /** How long a message's store is retried before the sender is refused. */
  readonly storeDeadlineMs: number;
  readonly routeDeadlineMs: number;
  readonly storeBatchMax: number;
  /** Period of the session keep-alive sync with route. */
  readonly sessionSyncIntervalMs: number;
  readonly groupPush: GroupPushLimits;
  /** TT_TLS_*, TT_GRPC_INSECURE and TT_ETCD_* (mutual TLS between tiers, etcd access; docs/SECURITY.md). */
  readonly tierSecurity: GrpcSecurityConfig & EtcdAccessConfig;
}

/** Traffic control of group pushes (src/group-push/traffic-control.ts). */
export interface GroupPushLimits {
  readonly enabled: boolean;
  readonly tickets: number;
  readonly intervalMs: number;
  readonly queueMax: number;
  readonly timeoutMs: number;
}

/** What each client connection enforces. */
export interface ConnectionLimits {
  readonly maxFrameBytes: number;
  readonly loginTimeoutMs: number;
  readonly pcIdleTimeoutMs: number;
  readonly mobileIdleTimeoutMs: number;
  readonly maxOutboundBytes: number;
  readonly drainTimeoutMs: number;
  readonly msgRatePerSec: number;
  readonly rateLimitAnswer: 'ack0' | 'silent';
}

/** Validates the environment (and TT_CONFIG_FILE); throws ConfigError listing every bad key. */
export function loadMsgConfig(env?: NodeJS.ProcessEnv): MsgConfig {
  const c = loadConfig(msgConfigSchema, { service: 'msg', env });
  // Sessions are registered in route under the instance id plus a per-process
  // epoch, so a gateway restarted under the same instance id never inherits,
  // nor has purged, the sessions of its previous process.
  const epoch = randomBytes(4).toString('hex');
  const conn: ConnectionLimits = {
    maxFrameBytes: c.TT_MAX_FRAME_BYTES,
    loginTimeoutMs: c.TT_LOGIN_TIMEOUT_MS,
    pcIdleTimeoutMs: c.TT_PC_IDLE_TIMEOUT_MS,
    mobileIdleTimeoutMs: c.TT_MOBILE_IDLE_TIMEOUT_MS,
    maxOutboundBytes: c.TT_MAX_OUTBOUND_BYTES,
    drainTimeoutMs: c.TT_DRAIN_TIMEOUT_MS,
    msgRatePerSec: c.TT_MSG_RATE_PER_SEC,
    rateLimitAnswer: c.TT_RATE_LIMIT_ANSWER,
  };
  return Object.freeze({
    instanceId: c.TT_INSTANCE_ID,
    epoch,
    gatewayId: `${c.TT_INSTANCE_ID}@${epoch}`,
    etcdEndpoints: c.TT_ETCD_ENDPOINTS,
    etcdPrefix: c.TT_ETCD_PREFIX,
    leaseTtlSec: c.TT_LEASE_TTL_SEC,
    logLevel: c.TT_LOG_LEVEL,
    grpcHost: c.TT_GRPC_HOST,
    grpcPort: c.TT_GRPC_PORT,
    listenHost: c.TT_LISTEN_HOST,
    tcpPort: c.TT_TCP_PORT,
    wsPort: c.TT_WS_PORT,
    ip1: c.TT_IP1,
    ip2: c.TT_IP2 ?? c.TT_IP1,
    maxConn: c.TT_MAX_CONN,
    conn: Object.freeze(conn),
    dbDeadlineMs: c.TT_DB_DEADLINE_MS,
    storeDeadlineMs: c.TT_STORE_DEADLINE_MS,
    routeDeadlineMs: c.TT_ROUTE_DEADLINE_MS,
    storeBatchMax: c.TT_STORE_BATCH_MAX,
    sessionSyncIntervalMs: c.TT_SESSION_SYNC_INTERVAL_MS,
    tierSecurity: Object.freeze({
      TT_ETCD_ENDPOINTS: c.TT_ETCD_ENDPOINTS,
      TT_GRPC_INSECURE: c.TT_GRPC_INSECURE,
      TT_TLS_CA: c.TT_TLS_CA,
      TT_TLS_CERT: c.TT_TLS_CERT,
      TT_TLS_KEY: c.TT_TLS_KEY,
      TT_ETCD_CA: c.TT_ETCD_CA,
      TT_ETCD_CERT: c.TT_ETCD_CERT,
      TT_ETCD_KEY: c.TT_ETCD_KEY,
      TT_ETCD_USERNAME: c.TT_ETCD_USERNAME,
      TT_ETCD_PASSWORD: c.TT_ETCD_PASSWORD,
    }),
    groupPush: Object.freeze({
      enabled: c.TT_GROUP_PUSH_CONTROL,
      tickets: c.TT_GROUP_PUSH_TICKETS,
      intervalMs: c.TT_GROUP_PUSH_INTERVAL_MS,
      queueMax: c.TT_GROUP_PUSH_QUEUE_MAX,
      timeoutMs: c.TT_GROUP_PUSH_TIMEOUT_MS,
    }),
  });
}
