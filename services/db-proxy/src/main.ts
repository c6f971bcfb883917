import { exitOnConfigError, logConfig } from '@tiertalk/config';
import { ServiceLifecycle, exitOnSignals, exitOnStartFailure, shutdownGrpcServer } from '@tiertalk/lifecycle';
import { Logger, createLogger } from '@tiertalk/log';
import { DbAdminService, DbProxyService } from '@tiertalk/proto';
import { Readiness, healthAccess, probeRoutes, serveHealth } from '@tiertalk/health';
import { RefusalLog, countMysqlErrors, countRedisErrors, metricsMeta, startServiceMetrics } from '@tiertalk/metrics';
import { connectRegistry } from '@tiertalk/registry';
import { autoPipelinedCopy } from '@tiertalk/redis';
import { bindServer, createServer, reloadTlsOnSighup, rpcSecurityFromConfig } from '@tiertalk/rpc';
import { dbAdminAccess, dbProxyAccess } from './access-policy';
import { DbProxyConfig, loadDbProxyConfig } from './config';
import { watchDbProxyDependencies } from './dependency-checks';
import { createValidateHandler } from './handlers/login/create-validate';
import { MessageCommitter } from './handlers/message/message-committer';
import { createOfflineStores } from './handlers/message/offline-stores';
import { StoreMessagesService } from './handlers/message/store-messages';
import { adminRpc } from './handlers/admin/rpc';
import { groupRpc } from './handlers/group/rpc';
import { PasswordHasher } from './handlers/login/password-hasher';
import { CounterOutbox } from './store/counter-outbox';
import { GroupMembersCache } from './store/group-members';
import { messageRpc } from './handlers/message/rpc';
import { recallRpc } from './handlers/recall/rpc';
import { fileRpc } from './handlers/file/rpc';
import { pushRpc } from './handlers/push/rpc';
import { sessionRpc } from './handlers/session/rpc';
import { userRpc } from './handlers/user/rpc';
import { dbProxyImplementation } from './service';
import { validateStreamService } from './handlers/login/validate-stream';
import { IdempotencyPurger, IdempotencyStore } from './store/idempotency';
import { MessageIdAllocator } from './store/message-ids';
import { assertPoolsPinned, createMysqlPools } from './store/mysql';
import { checkShardPlacement } from './store/shard-servers';
import { KnownUsers } from './store/known-users';
import { createRedisInstances } from './store/redis';
import { RelationStore } from './store/relations';

async function main(config: DbProxyConfig, log: Logger): Promise<void> {
  // docs/HEALTH.md: /healthz and /readyz on the metrics port, grpc.health.v1.Health on the gRPC port.
  const readiness = new Readiness('db-proxy', log);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  // docs/ARCHITECTURE.md "Start-up and shutdown"; docs/FLOWS.md §13: msg servers stop sending first, in-flight work finishes, then each part closes, the last started first.
  const life = new ServiceLifecycle({ log, readiness });
  const metrics = await startServiceMetrics({ service: 'db-proxy', instance: config.TT_INSTANCE_ID, host: config.TT_METRICS_HOST ?? config.TT_GRPC_HOST, port: config.TT_METRICS_PORT, routes: [probeRoutes(readiness)] });
  life.closes('metrics', () => metrics?.close());
  const security = exitOnConfigError(() => rpcSecurityFromConfig(config, { service: 'db-proxy', bindHost: config.TT_GRPC_HOST, logger: log }));
  reloadTlsOnSighup(security);

  const refusals = new RefusalLog(log);
  countMysqlErrors();
  const mysql = createMysqlPools(
    config.TT_MYSQL_MASTER_URL,
    config.TT_MYSQL_REPLICA_URL,
    { size: config.TT_MYSQL_POOL_SIZE, queueLimit: config.TT_MYSQL_QUEUE_LIMIT },
    config.TT_MYSQL_SHARDS,
    config.TT_STORE_COMMIT_LANES,
  );
  life.closes('mysql pools', () => mysql.close());
  const redis = createRedisInstances({
    unread: config.TT_REDIS_UNREAD_URL,
    groupSet: config.TT_REDIS_GROUP_SET_URL,
    token: config.TT_REDIS_TOKEN_URL,
    sync: config.TT_REDIS_SYNC_URL,
    groupMember: config.TT_REDIS_GROUP_MEMBER_URL,
  }, (err, name) => log.warn({ err, redis: name }, 'redis connection error'));
  life.closes('redis', () => redis.close());
  const dependencies = watchDbProxyDependencies(readiness, {
    masterUrl: config.TT_MYSQL_MASTER_URL,
    replicaUrl: config.TT_MYSQL_REPLICA_URL,
    shardServers: config.TT_MYSQL_SHARDS.map((p) => p.url),
    redis,
    intervalMs: config.TT_HEALTH_INTERVAL_MS,
  });
  life.closes('dependency checks', () => dependencies.stop());
  // Every pool's connections run with the pinned sql_mode, or db-proxy does not start (store/mysql.ts).
  await assertPoolsPinned(mysql);
  // Each shard server holds its tables, and the master no rows of a shard mapped away (store/shard-servers.ts).
  await checkShardPlacement(mysql.shards);
  if (mysql.shards.remote.length > 0) log.info({ shards: mysql.shards.remote.map((s) => ({ server: s.name, shards: s.shards })) }, 'message shards on other MySQL servers');

  // Shared by the send path (conversation index, audio, sessions) and the offline reads.
  const offline = createOfflineStores(mysql, redis, {
    convIndexLimit: config.TT_CONV_INDEX_LIMIT,
    convIndexTtlSec: config.TT_CONV_INDEX_TTL_SEC,
    aesKey: config.TT_AES_KEY,
    unreadRebuildSessions: config.TT_UNREAD_REBUILD_SESSIONS,
  });
  // Before serving: an empty unread Redis is then known to be a loss, not counters written by this instance (unread-epoch.ts).
  await offline.unreadEpoch.check().catch((err: unknown) => log.warn({ err }, 'unread epoch not read at start; checked again periodically'));
  const idempotency = new IdempotencyStore(mysql.master);
  // The master's keys and each shard server's (written with the messages it holds).
  const idempotencyPurgers = [idempotency, ...mysql.shards.remote.map((s) => s.idempotency)].map(
    (store, i) =>
      new IdempotencyPurger(store, config.TT_STORE_DEDUPE_WINDOW_SEC, config.TT_STORE_DEDUPE_PURGE_SEC * 1000, (err) =>
        log.warn({ err, server: i === 0 ? 'main' : mysql.shards.remote[i - 1].name }, 'purging expired idempotency rows failed'),
      ),
  );
  const counterOutbox = new CounterOutbox(mysql.master, redis.unread, {
    repairIntervalMs: config.TT_COUNTER_REPAIR_SEC * 1000,
    repairGraceSec: 2,
    onError: (err, what) => log.warn({ err }, `${what} failed`),
  });
  const committer = new MessageCommitter({
    writer: mysql.writer,
    master: mysql.master,
    shards: mysql.shards,
    counterOutbox,
    idempotency,
    dedupeWindowSec: config.TT_STORE_DEDUPE_WINDOW_SEC,
    relations: new RelationStore(mysql.master),
    ids: new MessageIdAllocator(redis.unread, mysql.master),
    sessions: offline.sessionWriter,
    audio: offline.audio,
    conversations: offline.conversations,
    log,
    batchMax: config.TT_COMMIT_BATCH_MAX,
    lanes: config.TT_STORE_COMMIT_LANES,
    groups: { members: new GroupMembersCache(mysql.master, redis.groupMember) },
    receivers: new KnownUsers(mysql.master),
    audioMaxBytes: config.TT_AUDIO_MAX_BYTES,
    shardTimeoutMs: config.TT_MYSQL_SHARD_TIMEOUT_MS,
    refusals,
  });
  const storeMessages = new StoreMessagesService(committer, config.TT_COMMIT_QUEUE_MAX, log);
  // The lockout scripts of the logins that arrive together (a ValidateStream batch) go to Redis in one write.
  const loginLimitsRedis = countRedisErrors(autoPipelinedCopy(redis.token), 'token', (err) => log.warn({ err, redis: 'token' }, 'redis connection error'));
  life.closes('login limits redis', () => loginLimitsRedis.quit());
  const validate = createValidateHandler(
    mysql,
    loginLimitsRedis,
    {
      limits: {
        failLimit: config.TT_LOGIN_FAIL_LIMIT,
        failWindowSec: config.TT_LOGIN_FAIL_WINDOW_SEC,
        ipFailLimit: config.TT_LOGIN_IP_FAIL_LIMIT,
        ipRateLimit: config.TT_LOGIN_IP_RATE_LIMIT,
        ipRateWindowSec: config.TT_LOGIN_IP_RATE_WINDOW_SEC,
      },
      argon2: { memoryKiB: config.TT_ARGON2_MEMORY_KIB, timeCost: config.TT_ARGON2_TIME_COST, parallelism: config.TT_ARGON2_PARALLELISM },
      hashConcurrency: config.TT_PASSWORD_HASH_CONCURRENCY,
      hashQueueMax: config.TT_PASSWORD_HASH_QUEUE_MAX,
      cacheMax: config.TT_PASSWORD_CACHE_MAX,
      cacheTtlSec: config.TT_PASSWORD_CACHE_TTL_SEC,
    },
    log,
  );

  const server = createServer({ security, access: [dbProxyAccess, dbAdminAccess, healthAccess], refusals });
  serveHealth(server, readiness, 'tiertalk.DbProxy');
  // Each domain's unary methods (handlers/<domain>/rpc.ts).
  const domains = [
    messageRpc({ mysql, redis, log }, offline),
    sessionRpc({ mysql, redis, log }, offline),
    userRpc({ mysql, redis, log }),
    pushRpc({ mysql, redis, log }),
    fileRpc({ mysql, redis, log }),
    groupRpc({ mysql, redis, log }, { memberLimit: config.TT_GROUP_MEMBER_LIMIT, adminLimit: config.TT_GROUP_ADMIN_LIMIT }),
    recallRpc({ mysql, redis, log }, offline, { windowSec: config.TT_RECALL_WINDOW_SEC, aesKey: config.TT_AES_KEY }),
  ];
  const validateStream = validateStreamService(validate, log);
  server.addService(DbProxyService, dbProxyImplementation({ validateStream, storeMessages, domains }));
  // The operator's administration (services/admin): its own argon2 lane, so a password change never waits behind logins.
  const adminHasher = new PasswordHasher(
    { memoryKiB: config.TT_ARGON2_MEMORY_KIB, timeCost: config.TT_ARGON2_TIME_COST, parallelism: config.TT_ARGON2_PARALLELISM },
    { concurrency: 1, queueMax: 16 },
  );
  server.addService(DbAdminService, adminRpc({ mysql, log }, adminHasher));
  const grpcPort = await bindServer(server, config.TT_GRPC_HOST, config.TT_GRPC_PORT);
  life.closes('gRPC server', () => shutdownGrpcServer(server, config.TT_SHUTDOWN_GRACE_MS));
  // Stores and logins already received are answered; the streams tell msg servers to send elsewhere.
  life.drains('store and validate streams', config.TT_SHUTDOWN_GRACE_MS, (ms) => Promise.all([storeMessages.drain(ms), validateStream.drain(ms)]));

  const registry = await connectRegistry(config, 'db-proxy', log);
  life.closes('etcd', () => registry.close());
  await life.register(registry, { id: config.TT_INSTANCE_ID, service: 'db-proxy', addr: `${config.TT_GRPC_HOST}:${grpcPort}`, load: 0, meta: { ...metricsMeta(metrics) } }, registered);
  for (const purger of idempotencyPurgers) purger.start();
  life.closes('idempotency purgers', () => Promise.all(idempotencyPurgers.map((p) => p.stop())));
  // Counter deltas left behind by a crash or a Redis failure are applied now and periodically.
  counterOutbox.start();
  life.closes('counter outbox', () => counterOutbox.stop());
  // An empty unread Redis (restarted, flushed) is noticed here; each user's counters are then rebuilt from MySQL on their next read.
  offline.unreadEpoch.start(config.TT_UNREAD_EPOCH_CHECK_SEC * 1000, {
    onError: (err) => log.warn({ err }, 'checking the unread epoch failed'),
    onChange: (previous, epoch) => log.warn({ previous, epoch }, 'unread Redis lost its counters: rebuilding each user from MySQL on their next unread read'),
  });
  life.closes('unread epoch check', () => offline.unreadEpoch.stop());
  log.info({ grpcPort }, 'db-proxy ready');
  exitOnSignals((reason) => life.stop(reason), { log, exitDeadlineMs: config.TT_SHUTDOWN_GRACE_MS + 3000 });
}

const config = exitOnConfigError(() => loadDbProxyConfig());
const log = createLogger({ service: 'db-proxy', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
logConfig(log, config);
main(config, log).catch((err: unknown) => exitOnStartFailure(err, log));
