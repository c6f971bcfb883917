import { exitOnConfigError, logConfig } from '@tiertalk/config';
import { ServiceLifecycle, exitOnSignals, exitOnStartFailure, shutdownGrpcServer } from '@tiertalk/lifecycle';
import { Logger, createLogger } from '@tiertalk/log';
import { RouteService } from '@tiertalk/proto';
import { Readiness, healthAccess, probeRoutes, serveHealth, watchRedis } from '@tiertalk/health';
import { RefusalLog, countRedisErrors, metricsMeta, startServiceMetrics } from '@tiertalk/metrics';
import { createRedisClient } from '@tiertalk/redis';
import { connectRegistry } from '@tiertalk/registry';
import { InstancePool, bindServer, createServer, reloadTlsOnSighup, rpcSecurityFromConfig } from '@tiertalk/rpc';
import { routeAccess } from './access-policy';
import { RouteConfig, loadRouteConfig } from './config';
import { GatewayLinks } from './gateway-links';
import { routeHandlers, sessionStreams } from './handlers';
import { startOfflinePush } from './push/start-offline-push';
import { PushServiceLink } from './push/push-service-link';
import { RegistryEpoch } from './registry-epoch';
import { exportUnacked } from './route-metrics';
import { UnseenGatewaySweep } from './session-purge';
import { SessionStore } from './session-store';

const GRACEFUL_SHUTDOWN_MS = 3_000;
const EXIT_DEADLINE_MS = 8_000;

async function main(config: RouteConfig, logger: Logger): Promise<void> {
  // docs/HEALTH.md: ready while its session Redis answers and it is registered (a route without gateways is ready: it has nobody to serve yet).
  const readiness = new Readiness('route', logger);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  // docs/ARCHITECTURE.md "Start-up and shutdown": each part closes at stop, the last started first.
  const life = new ServiceLifecycle({ log: logger, readiness });
  const metrics = await startServiceMetrics({ service: 'route', instance: config.TT_INSTANCE_ID, host: config.TT_METRICS_HOST ?? config.TT_GRPC_HOST, port: config.TT_METRICS_PORT, routes: [probeRoutes(readiness)] });
  life.closes('metrics', () => metrics?.close());
  const security = exitOnConfigError(() => rpcSecurityFromConfig(config, { service: 'route', bindHost: config.TT_GRPC_HOST, logger }));
  reloadTlsOnSighup(security);

  // Fail a call fast when Redis is down instead of queueing it for minutes. Auto-pipelined: the
  // scripts of a LoginStream/LogoutStream batch (and of a Deliver batch's lookups) go in one write.
  const redis = createRedisClient(config.TT_SESSION_REDIS_URL, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
  countRedisErrors(redis, 'session', (err) => logger.warn({ err }, 'session redis error'));
  life.closes('session redis', () => redis.quit());
  const redisCheck = watchRedis(readiness.add('redis:session'), redis, { intervalMs: config.TT_HEALTH_INTERVAL_MS });
  life.closes('session redis check', () => redisCheck.stop());
  const store = new SessionStore(redis, config.TT_SESSION_KEY_PREFIX, { seenTtlMs: 3 * config.TT_SESSION_SYNC_INTERVAL_MS });

  const registry = await connectRegistry(config, 'route', logger);
  life.closes('etcd', () => registry.close());
  const links = new GatewayLinks({ registry, store, logger, security, sweepIntervalMs: config.TT_SWEEP_INTERVAL_MS, presenceCoalesceMs: config.TT_PRESENCE_COALESCE_MS });
  await links.start();
  life.closes('gateway links', () => links.close());
  exportUnacked(links);
  const epoch = new RegistryEpoch({ redis, store, links, logger, maxWaitMs: config.TT_RESYNC_MAX_WAIT_MS });
  life.closes('registry epoch', () => epoch.close());
  const unseenSweep = new UnseenGatewaySweep({ store, links, logger, intervalMs: config.TT_SWEEP_INTERVAL_MS });
  unseenSweep.start();
  life.closes('unseen-gateway sweep', () => unseenSweep.close());
  const offlinePush = await startOfflinePush(config, registry, logger, security);
  life.closes('offline push', () => offlinePush?.close());
  const pushPool = new InstancePool(await registry.watch('push'), { logger, security });
  life.closes('push pool', () => pushPool.close());
  const pushService = new PushServiceLink({ pool: pushPool, logger, queueMax: config.TT_PUSH_SERVICE_QUEUE_MAX, deadlineMs: config.TT_PUSH_SERVICE_DEADLINE_MS, mobileOnly: config.TT_PUSH_SERVICE_MOBILE_ONLY });
  life.closes('push service link', () => pushService.close());

  const server = createServer({ security, access: [routeAccess, healthAccess], refusals: new RefusalLog(logger) });
  serveHealth(server, readiness, 'tiertalk.Route');
  const deps = { store, links, logger, offlinePush: offlinePush?.notifier, pushService, registryReady: epoch };
  const streams = sessionStreams(deps);
  server.addService(RouteService, routeHandlers(deps, streams));
  const port = await bindServer(server, config.TT_GRPC_HOST, config.TT_GRPC_PORT);
  life.closes('gRPC server', () => shutdownGrpcServer(server, GRACEFUL_SHUTDOWN_MS));
  // Gateways send their next logins and logouts elsewhere once we left etcd; those already here are answered.
  life.drains('login/logout streams', GRACEFUL_SHUTDOWN_MS, (ms) => Promise.all([streams.login.drain(ms), streams.logout.drain(ms)]));
  await life.register(registry, { id: config.TT_INSTANCE_ID, service: 'route', addr: `${config.TT_GRPC_HOST}:${port}`, load: 0, meta: { ...metricsMeta(metrics) } }, registered);
  // Once the gateways can reach us: a registry lost while no route ran is rebuilt like any other loss.
  epoch.start();
  logger.info({ port }, 'route started');
  exitOnSignals((reason) => life.stop(reason), { log: logger, exitDeadlineMs: EXIT_DEADLINE_MS });
}

const config = exitOnConfigError(() => loadRouteConfig());
const logger = createLogger({ service: 'route', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
logConfig(logger, config);
main(config, logger).catch((err: unknown) => exitOnStartFailure(err, logger));
