import { ConfigError, exitOnConfigError, logConfig } from '@tiertalk/config';
import { Readiness, followLiveInstances, healthAccess, probeRoutes, serveHealth } from '@tiertalk/health';
import { ServiceLifecycle, exitOnSignals, exitOnStartFailure, shutdownGrpcServer } from '@tiertalk/lifecycle';
import { Logger, createLogger } from '@tiertalk/log';
import { RefusalLog, metricsMeta, startServiceMetrics } from '@tiertalk/metrics';
import { PushService } from '@tiertalk/proto';
import { connectRegistry } from '@tiertalk/registry';
import { InstancePool, bindServer, createServer, reloadTlsOnSighup, rpcSecurityFromConfig } from '@tiertalk/rpc';
import { pushAccess } from './access-policy';
import { PushConfig, loadPushConfig } from './config';
import { DbProxyLookups } from './db-proxy-lookups';
import { notifyStreamService } from './notify-stream';
import { providersFromConfig } from './providers/select';
import { initProviderSeries } from './push-metrics';
import { PushPipeline } from './push-pipeline';

const GRACEFUL_SHUTDOWN_MS = 3_000;
const EXIT_DEADLINE_MS = 8_000;

async function main(config: PushConfig, logger: Logger): Promise<void> {
  // Half-configured providers and unreadable keys are configuration errors (exit 2), like any bad key.
  const providers = exitOnConfigError(() => {
    try {
      return providersFromConfig(config);
    } catch (err) {
      throw new ConfigError('push', [{ key: 'TT_APNS_*, TT_FCM_*, TT_VAPID_*', message: err instanceof Error ? err.message : String(err), value: undefined }]);
    }
  });
  initProviderSeries(providers.names);
  // docs/HEALTH.md: ready while registered and at least one db-proxy is live (tokens and shields come from it).
  const readiness = new Readiness('push', logger);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  // docs/ARCHITECTURE.md "Start-up and shutdown": each part closes at stop, the last started first.
  const life = new ServiceLifecycle({ log: logger, readiness });
  life.closes('providers', () => providers.close());
  const metrics = await startServiceMetrics({ service: 'push', instance: config.TT_INSTANCE_ID, host: config.TT_METRICS_HOST ?? config.TT_GRPC_HOST, port: config.TT_METRICS_PORT, routes: [probeRoutes(readiness)] });
  life.closes('metrics', () => metrics?.close());
  const security = exitOnConfigError(() => rpcSecurityFromConfig(config, { service: 'push', bindHost: config.TT_GRPC_HOST, logger }));
  reloadTlsOnSighup(security);

  const registry = await connectRegistry(config, 'push', logger);
  life.closes('etcd', () => registry.close());
  const dbProxyWatch = await registry.watch('db-proxy');
  followLiveInstances(readiness.add('db-proxy-live'), dbProxyWatch);
  const dbPool = new InstancePool(dbProxyWatch, { logger, security });
  life.closes('db-proxy pool', () => dbPool.close());
  const pipeline = new PushPipeline({
    lookups: new DbProxyLookups(dbPool, config.TT_DB_DEADLINE_MS),
    providers,
    logger,
    queueMax: config.TT_PUSH_QUEUE_MAX,
    concurrency: config.TT_PUSH_CONCURRENCY,
    maxAttempts: config.TT_PUSH_MAX_ATTEMPTS,
    retryBaseMs: config.TT_PUSH_RETRY_BASE_MS,
    retryMaxMs: config.TT_PUSH_RETRY_MAX_MS,
    aesKey: config.TT_AES_KEY,
  });
  // What is queued gets a moment to go out; the rest is counted as shed.
  life.closes('push pipeline', () => pipeline.close(GRACEFUL_SHUTDOWN_MS));
  const notify = notifyStreamService(pipeline, logger);

  const server = createServer({ security, access: [pushAccess, healthAccess], refusals: new RefusalLog(logger) });
  serveHealth(server, readiness, 'tiertalk.PushNotify');
  server.addService(PushService, { Notify: notify.handle });
  const port = await bindServer(server, config.TT_GRPC_HOST, config.TT_GRPC_PORT);
  life.closes('gRPC server', () => shutdownGrpcServer(server, GRACEFUL_SHUTDOWN_MS));
  // Out of etcd first so route stops picking us, then the open streams are told to stop.
  life.drains('notify streams', GRACEFUL_SHUTDOWN_MS, (ms) => notify.drain(ms));
  await life.register(
    registry,
    { id: config.TT_INSTANCE_ID, service: 'push', addr: `${config.TT_GRPC_HOST}:${port}`, load: 0, meta: { providers: providers.names.join(','), ...metricsMeta(metrics) } },
    registered,
  );
  logger.info({ port, providers: providers.names, text: config.TT_AES_KEY !== undefined }, 'push started');
  exitOnSignals((reason) => life.stop(reason), { log: logger, exitDeadlineMs: EXIT_DEADLINE_MS });
}

const config = exitOnConfigError(() => loadPushConfig());
const logger = createLogger({ service: 'push', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
logConfig(logger, config);
main(config, logger).catch((err: unknown) => exitOnStartFailure(err, logger));
