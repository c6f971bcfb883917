import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ConfigError, bool, commonConfigSchema, csvList, intRange, loadConfig, nonEmptyString, port, positiveInt } from '@tiertalk/config';
import type { ConfigIssue } from '@tiertalk/config';
import type { EtcdAccessConfig } from '@tiertalk/registry';
import type { GrpcSecurityConfig } from '@tiertalk/rpc';
import type { GroupPushControlOptions } from './group-push/traffic-control';

const MIB = 1024 * 1024;

/** A port that may be left unset (the listener is off then). */
function optionalPort() {
  const error = 'expected an integer 0..65535';
  return z
    .preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : v), z.number({ error }).int({ error }).min(0, { error }).max(65535, { error }))
    .optional();
}

/** Every key the gateway reads (docs/ARCHITECTURE.md tiers table plus the limits below). */
export const msgConfigSchema = commonConfigSchema.extend({
  TT_LISTEN_HOST: nonEmptyString('0.0.0.0'),
  TT_TCP_PORT: port(8000),
  // Plaintext TeamTalk TCP on TT_TCP_PORT (stock clients); false = TLS only.
  TT_PLAIN_TCP: bool(true),
  // TeamTalk protocol over TLS (docs/SECURITY.md "TLS to clients"); unset = no TLS listener.
  TT_TLS_TCP_PORT: optionalPort(),
  TT_WS_PORT: port(8400),
  // The public-facing certificate (not the cluster's internal TT_TLS_* mTLS files).
  TT_CLIENT_TLS_CERT: nonEmptyString().optional(),
  TT_CLIENT_TLS_KEY: nonEmptyString().optional(),
  // With a certificate, the WebSocket port serves wss:// (false keeps ws://).
  TT_WS_TLS: bool(true),
  // A connection that has not finished its TLS handshake by then is closed.
  TT_TLS_HANDSHAKE_TIMEOUT_MS: positiveInt(10_000),
  // How often the certificate files are checked for a change (SIGHUP reloads at once); 0 = SIGHUP only.
  TT_CLIENT_TLS_POLL_MS: intRange(0, 3_600_000, 5_000),
  TT_GRPC_PORT: port(8300),
  // What the login server hands to clients (docs/FLOWS.md §1a priorIP / backupIP).
  TT_IP1: nonEmptyString('127.0.0.1'),
  TT_IP2: nonEmptyString().optional(),
  TT_MAX_CONN: positiveInt(100_000),
  // docs/PROTOCOL.md §1: TeamTalk has no limit; 1 MiB is the recommended bound.
  TT_MAX_FRAME_BYTES: intRange(16, 64 * MIB, MIB),
  TT_LOGIN_TIMEOUT_MS: positiveInt(15_000),
  TT_PC_IDLE_TIMEOUT_MS: positiveInt(120_000),
  TT_MOBILE_IDLE_TIMEOUT_MS: positiveInt(300_000),
  // docs/FLOWS.md §3: TeamTalk allows 20 IMMsgData per second per connection; 0 = unlimited.
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
  // The load (logged-in connections) published to etcd for login's balancer: at most one update per interval.
  TT_LOAD_REPORT_INTERVAL_MS: intRange(0, 10_000, 250),
  // Outbound backpressure per client connection (style.md, backpressure).
  TT_MAX_OUTBOUND_BYTES: positiveInt(4 * MIB),
  TT_DRAIN_TIMEOUT_MS: positiveInt(30_000),
  // Traffic control of group pushes (src/group-push): an adaptive slice budget (slice length, loop
  // delay, per-connection high-water mark), queue bound, timeout, optional fixed ceiling per interval.
  TT_GROUP_PUSH_CONTROL: bool(true),
  TT_GROUP_PUSH_TICKETS: intRange(0, 100_000_000, 0),
  TT_GROUP_PUSH_INTERVAL_MS: positiveInt(1_000),
  TT_GROUP_PUSH_QUEUE_MAX: positiveInt(200_000),
  TT_GROUP_PUSH_TIMEOUT_MS: positiveInt(30_000),
  TT_GROUP_PUSH_SLICE_MS: intRange(1, 1_000, 50),
  TT_GROUP_PUSH_MAX_LOOP_DELAY_MS: intRange(1, 10_000, 250),
  TT_GROUP_PUSH_CONN_HIGH_WATER_BYTES: positiveInt(256 * 1024),
  // docs/SECURITY.md "Lockout and limits": admission per client IP (0 = no limit).
  TT_MAX_CONN_PER_IP: intRange(0, 10_000_000, 5_000),
  TT_MAX_UNAUTH_CONN_PER_IP: intRange(0, 10_000_000, 256),
  // Browser origins allowed to open the WebSocket; unset = any (non-browser clients send none).
  TT_WS_ALLOWED_ORIGINS: csvList([]).optional(),
  // Largest frame before login (an IMLoginReq is a few hundred bytes).
  TT_PRELOGIN_MAX_FRAME_BYTES: intRange(16, 64 * MIB, 4096),
  // Requests of one connection waiting on upstream calls; decoded frames beyond wait in a bounded queue.
  TT_CONN_MAX_IN_FLIGHT: intRange(1, 10_000, 64),
  TT_CONN_INBOUND_QUEUE_MAX: intRange(1, 1_000_000, 8_192),
  // Per-user request budgets per command class, "<requests>/<seconds>" (0 = unlimited).
  TT_USER_RATE_P2P: rateSpec('20/1'),
  TT_USER_RATE_PROFILE: rateSpec('10/60'),
  TT_USER_RATE_GROUP_CHANGE: rateSpec('30/60'),
  TT_USER_RATE_LIST_QUERY: rateSpec('100/1'),
  // Largest list a request may carry (docs/SECURITY.md table).
  // route answers at most 10,000 ids per status query.
  TT_MAX_LIST_USER_IDS: intRange(1, 10_000, 10_000),
  TT_MAX_LIST_GROUP_MEMBERS: positiveInt(3_000),
  TT_MAX_LIST_GROUP_IDS: positiveInt(1_000),
  TT_MAX_LIST_MSG_IDS: positiveInt(1_000),
  TT_MAX_HISTORY_PAGE: positiveInt(100),
});

/** "<points>/<seconds>" or "0" (unlimited); parsed to { points, seconds } or undefined. */
function rateSpec(defaultValue: string) {
  const error = 'expected "<requests>/<seconds>" (e.g. 20/1) or 0';
  return z
    .preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string({ error }).trim()
    .regex(/^(0|[1-9]\d{0,8}\/[1-9]\d{0,6})$/, { error })
    .default(defaultValue))
    .transform((s): RateBudget | undefined => {
      if (s === '0') return undefined;
      const [points, seconds] = s.split('/').map(Number);
      return { points, seconds };
    });
}

/** At most `points` requests per `seconds` (a fixed window per user and class). */
export interface RateBudget {
  readonly points: number;
  readonly seconds: number;
}

/** The per-user budgets (src/limits/user-rate.ts); undefined = unlimited. */
export interface UserRateBudgets {
  readonly p2p?: RateBudget;
  readonly profile?: RateBudget;
  readonly groupChange?: RateBudget;
  readonly listQuery?: RateBudget;
}

/** Request list caps (src/limits/request-caps.ts). */
export interface ListCaps {
  readonly userIds: number;
  readonly groupMembers: number;
  readonly groupIds: number;
  readonly msgIds: number;
  readonly historyPage: number;
}

/** Per-IP admission (src/conn/admission.ts); 0 = unlimited. */
export interface AdmissionLimits {
  readonly maxConnPerIp: number;
  readonly maxUnauthPerIp: number;
  /** undefined = every Origin allowed. */
  readonly wsAllowedOrigins?: readonly string[];
}

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
  /** Plain TeamTalk TCP listener on tcpPort (TT_PLAIN_TCP). */
  readonly plainTcp: boolean;
  readonly tcpPort: number;
  /** TeamTalk protocol over TLS; undefined = no such listener. */
  readonly tlsTcpPort: number | undefined;
  readonly wsPort: number;
  /** Set when a client-facing certificate is configured. */
  readonly clientTls: ClientTlsConfig | undefined;
  readonly ip1: string;
  readonly ip2: string;
  readonly maxConn: number;
  readonly conn: ConnectionLimits;
  /** Budget of a login's validation (ValidateStream) and of one unary db-proxy call (forwarded requests), failover included. */
  readonly dbDeadlineMs: number;
  /** How long a message's store is retried before the sender is refused. */
  readonly storeDeadlineMs: number;
  readonly routeDeadlineMs: number;
  readonly storeBatchMax: number;
  /** Period of the session keep-alive sync with route. */
  readonly sessionSyncIntervalMs: number;
  /** TT_LOAD_REPORT_INTERVAL_MS: at most one etcd load update per interval (load-reporter.ts). */
  readonly loadReportIntervalMs: number;
  readonly groupPush: GroupPushLimits;
  /** TT_METRICS_HOST (default the gRPC host) and TT_METRICS_PORT (undefined = no metrics port). */
  readonly metricsHost: string;
  readonly metricsPort: number | undefined;
  readonly admission: AdmissionLimits;
  readonly userRates: UserRateBudgets;
  readonly listCaps: ListCaps;
  /** TT_TLS_*, TT_GRPC_INSECURE and TT_ETCD_* (mutual TLS between tiers, etcd access; docs/SECURITY.md). */
  readonly tierSecurity: GrpcSecurityConfig & EtcdAccessConfig;
}

/** Traffic control of group pushes: its options (src/group-push/traffic-control.ts) but the logger. */
export type GroupPushLimits = Omit<GroupPushControlOptions, 'logger'>;

/** TLS towards clients (TeamTalk over TLS, wss://). */
export interface ClientTlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** The WebSocket port speaks wss://. */
  readonly ws: boolean;
  readonly handshakeTimeoutMs: number;
  /** Poll interval of the certificate files; 0 = reload on SIGHUP only. */
  readonly pollMs: number;
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
  /** Frame cap until the login succeeded (then maxFrameBytes). */
  readonly preLoginMaxFrameBytes: number;
  /** Requests dispatched and not yet finished; the next frames wait. */
  readonly maxInFlight: number;
  /** Decoded frames waiting to be dispatched; more closes the connection. */
  readonly inboundQueueMax: number;
}

/** Validates the environment (and TT_CONFIG_FILE); throws ConfigError listing every bad key. */
export function loadMsgConfig(env?: NodeJS.ProcessEnv): MsgConfig {
  const c = loadConfig(msgConfigSchema, { service: 'msg', env });
  const clientTls = clientTlsConfig(c);
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
    preLoginMaxFrameBytes: Math.min(c.TT_PRELOGIN_MAX_FRAME_BYTES, c.TT_MAX_FRAME_BYTES),
    maxInFlight: c.TT_CONN_MAX_IN_FLIGHT,
    inboundQueueMax: c.TT_CONN_INBOUND_QUEUE_MAX,
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
    plainTcp: c.TT_PLAIN_TCP,
    tcpPort: c.TT_TCP_PORT,
    tlsTcpPort: c.TT_TLS_TCP_PORT,
    wsPort: c.TT_WS_PORT,
    clientTls,
    ip1: c.TT_IP1,
    ip2: c.TT_IP2 ?? c.TT_IP1,
    maxConn: c.TT_MAX_CONN,
    conn: Object.freeze(conn),
    dbDeadlineMs: c.TT_DB_DEADLINE_MS,
    storeDeadlineMs: c.TT_STORE_DEADLINE_MS,
    routeDeadlineMs: c.TT_ROUTE_DEADLINE_MS,
    storeBatchMax: c.TT_STORE_BATCH_MAX,
    sessionSyncIntervalMs: c.TT_SESSION_SYNC_INTERVAL_MS,
    loadReportIntervalMs: c.TT_LOAD_REPORT_INTERVAL_MS,
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
      sliceMs: c.TT_GROUP_PUSH_SLICE_MS,
      maxLoopDelayMs: c.TT_GROUP_PUSH_MAX_LOOP_DELAY_MS,
      connHighWaterBytes: c.TT_GROUP_PUSH_CONN_HIGH_WATER_BYTES,
    }),
    metricsHost: c.TT_METRICS_HOST ?? c.TT_GRPC_HOST,
    metricsPort: c.TT_METRICS_PORT,
    admission: Object.freeze({
      maxConnPerIp: c.TT_MAX_CONN_PER_IP,
      maxUnauthPerIp: c.TT_MAX_UNAUTH_CONN_PER_IP,
      wsAllowedOrigins: c.TT_WS_ALLOWED_ORIGINS?.length ? Object.freeze([...c.TT_WS_ALLOWED_ORIGINS]) : undefined,
    }),
    userRates: Object.freeze({
      p2p: c.TT_USER_RATE_P2P,
      profile: c.TT_USER_RATE_PROFILE,
      groupChange: c.TT_USER_RATE_GROUP_CHANGE,
      listQuery: c.TT_USER_RATE_LIST_QUERY,
    }),
    listCaps: Object.freeze({
      userIds: c.TT_MAX_LIST_USER_IDS,
      groupMembers: c.TT_MAX_LIST_GROUP_MEMBERS,
      groupIds: c.TT_MAX_LIST_GROUP_IDS,
      msgIds: c.TT_MAX_LIST_MSG_IDS,
      historyPage: c.TT_MAX_HISTORY_PAGE,
    }),
  });
}

/** The cross-key rules of client TLS; throws ConfigError naming the keys. */
function clientTlsConfig(c: z.infer<typeof msgConfigSchema>): ClientTlsConfig | undefined {
  const issues: ConfigIssue[] = [];
  const cert = c.TT_CLIENT_TLS_CERT;
  const key = c.TT_CLIENT_TLS_KEY;
  if ((cert === undefined) !== (key === undefined)) {
    issues.push({ key: cert === undefined ? 'TT_CLIENT_TLS_CERT' : 'TT_CLIENT_TLS_KEY', message: 'expected together with the other of TT_CLIENT_TLS_CERT / TT_CLIENT_TLS_KEY', value: undefined });
  }
  if (c.TT_TLS_TCP_PORT !== undefined && (cert === undefined || key === undefined)) {
    issues.push({ key: 'TT_TLS_TCP_PORT', message: 'expected TT_CLIENT_TLS_CERT and TT_CLIENT_TLS_KEY to be set as well', value: c.TT_TLS_TCP_PORT });
  }
  if (!c.TT_PLAIN_TCP && c.TT_TLS_TCP_PORT === undefined) {
    issues.push({ key: 'TT_PLAIN_TCP', message: 'expected TT_TLS_TCP_PORT when plain TCP is off (no TeamTalk listener otherwise)', value: false });
  }
  if (issues.length > 0) throw new ConfigError('msg', issues);
  if (cert === undefined || key === undefined) return undefined;
  return Object.freeze({ certFile: cert, keyFile: key, ws: c.TT_WS_TLS, handshakeTimeoutMs: c.TT_TLS_HANDSHAKE_TIMEOUT_MS, pollMs: c.TT_CLIENT_TLS_POLL_MS });
}
