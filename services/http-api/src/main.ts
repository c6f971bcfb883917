import { ConfigError, exitOnConfigError, logConfig } from '@tiertalk/config';
import { ClusterLink } from '@tiertalk/cluster-ops';
import { Readiness, followLiveInstances, followRegistration, probeRoutes } from '@tiertalk/health';
import { createLogger } from '@tiertalk/log';
import { StoreLink } from '@tiertalk/message-store';
import { metricsMeta, startServiceMetrics } from '@tiertalk/metrics';
import { loadHttpApiConfig } from './config';
import { createHttpApiServer } from './http-server';
import { Users } from './users';

const EXIT_DEADLINE_MS = 8_000;
/** Messages being stored get this long to finish on SIGTERM before they are answered 503. */
const STORE_DRAIN_MS = 5_000;

async function main(): Promise<void> {
  const config = exitOnConfigError(() => loadHttpApiConfig());
  const logger = createLogger({ service: 'http-api', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
  logConfig(logger, config);
  // docs/HEALTH.md: ready while registered and at least one db-proxy (store, users, groups) and one route (pushes) are live in etcd.
  const readiness = new Readiness('http-api', logger);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  const metrics = await startServiceMetrics({ service: 'http-api', instance: config.TT_INSTANCE_ID, host: config.TT_METRICS_HOST ?? config.TT_GRPC_HOST, port: config.TT_METRICS_PORT, routes: [probeRoutes(readiness)] });
  const link = await ClusterLink.open(config, logger, 'http-api').catch((err: unknown) => {
    // Bad TLS or etcd settings: the same exit as any other bad key.
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  });
  followLiveInstances(readiness.add('db-proxy-live'), link.dbProxyWatch);
  followLiveInstances(readiness.add('route-live'), link.routeWatch);
  const store = new StoreLink(link.dbProxyPool, { storeDeadlineMs: config.TT_STORE_DEADLINE_MS, batchMax: config.TT_STORE_BATCH_MAX, logger });
  const users = new Users(link, config.TT_HTTP_API_SYSTEM_USER);

  const server = createHttpApiServer({
    token: config.TT_HTTP_API_TOKEN,
    maxBodyBytes: config.TT_HTTP_API_MAX_BODY_BYTES,
    ratePerSec: config.TT_HTTP_API_RATE_PER_SEC,
    aesKey: config.TT_AES_KEY,
    link,
    store,
    users,
    log: logger,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.TT_HTTP_API_PORT, config.TT_HTTP_API_HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.TT_HTTP_API_PORT;
  const registration = await link.etcd.register({
    id: config.TT_INSTANCE_ID,
    service: 'http-api',
    addr: `${config.TT_HTTP_API_HOST}:${port}`,
    load: 0,
    meta: { http: `http://${config.TT_HTTP_API_HOST}:${port}`, ...metricsMeta(metrics) },
  });
  followRegistration(registered, registration);
  logger.info({ port, metricsPort: metrics?.port }, 'send API started');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), EXIT_DEADLINE_MS).unref();
    // /readyz answers 503 first, so a load balancer stops sending before the listener goes.
    readiness.drain();
    await registration.deregister();
    const closed = new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await store.waitIdle(STORE_DRAIN_MS);
    store.close();
    await closed;
    await link.close();
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
  process.stderr.write(`http-api failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
