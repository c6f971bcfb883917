import { exitOnConfigError, logConfig } from '@tiertalk/config';
import { createLogger } from '@tiertalk/log';
import { RouteService } from '@tiertalk/proto';
import { Readiness, followRegistration, healthAccess, probeRoutes, serveHealth, watchRedis } from '@tiertalk/health';
import { RefusalLog, countRedisErrors, metricsMeta, startServiceMetrics } from '@tiertalk/metrics';
import { createRedisClient } from '@tiertalk/redis';
import { Registry, etcdAccessFromConfig } from '@tiertalk/registry';
import { InstancePool, bindServer, createServer, reloadTlsOnSighup, rpcSecurityFromConfig } from '@tiertalk/rpc';
import { routeAccess } from './access-policy';
import { loadRouteConfig } from './config';
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

async function main(): Promise<void> {
  const config = exitOnConfigError(() => loadRouteConfig());
  const logger = createLogger({ service: 'route', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
  logConfig(logger, config);
  // docs/HEALTH.md: ready while its session Redis answers and it is registered (a route without gateways is ready: it has nobody to serve yet).
  const readiness = new Readiness('route', logger);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  const metrics = await startServiceMetrics({ service: 'route', instance: config.TT_INSTANCE_ID, host: config.TT_METRICS_HOST ?? config.TT_GRPC_HOST, port: config.TT_METRICS_PORT, routes: [probeRoutes(readiness)] });
  const security = exitOnConfigError(() => rpcSecurityFromConfig(config, { service: 'route', bindHost: config.TT_GRPC_HOST, logger }));
  const etcdAccess = exitOnConfigError(() => etcdAccessFromConfig(config, 'route'));
  reloadTlsOnSighup(security);

  // Fail a call fast when Redis is down instead of queueing it for minutes. Auto-pipelined: the
  // scripts of a LoginStream/LogoutStream batch (and of a Deliver batch's lookups) go in one write.
  const redis = createRedisClient(config.TT_SESSION_REDIS_URL, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
  countRedisErrors(redis, 'session', (err) => logger.warn({ err }, 'session redis error'));
  const redisCheck = watchRedis(readiness.add('redis:session'), redis, { intervalMs: config.TT_HEALTH_INTERVAL_MS });
  const store = new SessionStore(redis, config.TT_SESSION_KEY_PREFIX, { seenTtlMs: 3 * config.TT_SESSION_SYNC_INTERVAL_MS });

  const registry = await Registry.connect({
    endpoints: [...config.TT_ETCD_ENDPOINTS],
    prefix: config.TT_ETCD_PREFIX,
    leaseTtlSec: config.TT_LEASE_TTL_SEC,
    logger,
    ...etcdAccess,
  });
  const links = new GatewayLinks({ registry, store, logger, security, sweepIntervalMs: config.TT_SWEEP_INTERVAL_MS, presenceCoalesceMs: config.TT_PRESENCE_COALESCE_MS });
  await links.start();
  exportUnacked(links);
  const epoch = new RegistryEpoch({ redis, store, links, logger, maxWaitMs: config.TT_RESYNC_MAX_WAIT_MS });
  const unseenSweep = new UnseenGatewaySweep({ store, links, logger, intervalMs: config.TT_SWEEP_INTERVAL_MS });
  unseenSweep.start();
  const offlinePush = await startOfflinePush(config, registry, logger, security);
  const pushPool = new InstancePool(await registry.watch('push'), { logger, security });
  const pushService = new PushServiceLink({ pool: pushPool, logger, queueMax: config.TT_PUSH_SERVICE_QUEUE_MAX, deadlineMs: config.TT_PUSH_SERVICE_DEADLINE_MS, mobileOnly: config.TT_PUSH_SERVICE_MOBILE_ONLY });

  const server = createServer({ security, access: [routeAccess, healthAccess], refusals: new RefusalLog(logger) });
  serveHealth(server, readiness, 'tiertalk.Route');
  const deps = { store, links, logger, offlinePush: offlinePush?.notifier, pushService, registryReady: epoch };
  const streams = sessionStreams(deps);
  server.addService(RouteService, routeHandlers(deps, streams));
  const port = await bindServer(server, config.TT_GRPC_HOST, config.TT_GRPC_PORT);
  const registration = await registry.register({
    id: config.TT_INSTANCE_ID,
    service: 'route',
    addr: `${config.TT_GRPC_HOST}:${port}`,
    load: 0,
    meta: { ...metricsMeta(metrics) },
  });
  followRegistration(registered, registration);
  // Once the gateways can reach us: a registry lost while no route ran is rebuilt like any other loss.
  epoch.start();
  logger.info({ port }, 'route started');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), EXIT_DEADLINE_MS).unref();
    readiness.drain();
    // Order (style.md, goim's comet): leave etcd first so callers stop picking us.
    await registration.deregister();
    // Gateways send their next logins and logouts elsewhere; those already here are answered.
    await Promise.all([streams.login.drain(GRACEFUL_SHUTDOWN_MS), streams.logout.drain(GRACEFUL_SHUTDOWN_MS)]);
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, GRACEFUL_SHUTDOWN_MS);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    unseenSweep.close();
    epoch.close();
    await links.close();
    await offlinePush?.close();
    pushService.close();
    pushPool.close();
    await registry.close();
    await redisCheck.stop();
    await redis.quit();
    await metrics?.close();
    logger.info('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      shutdown(signal).catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`route failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
