import { ConfigError, exitOnConfigError, logConfig } from '@tiertalk/config';
import { Readiness, followLiveInstances, followRegistration, probeRoutes } from '@tiertalk/health';
import { createLogger } from '@tiertalk/log';
import { metricsMeta, startServiceMetrics } from '@tiertalk/metrics';
import { ClusterLink } from '@tiertalk/cluster-ops';
import { loadAdminHttpConfig } from './config';
import { createAdminHttpServer } from './http-api';

const EXIT_DEADLINE_MS = 8_000;

async function main(): Promise<void> {
  const config = exitOnConfigError(() => loadAdminHttpConfig());
  const logger = createLogger({ service: 'admin', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
  logConfig(logger, config);
  // docs/HEALTH.md: ready while registered and at least one db-proxy and one route are live in etcd (every operation needs db-proxy; disable and notifies need route).
  const readiness = new Readiness('admin', logger);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  const metrics = await startServiceMetrics({ service: 'admin', instance: config.TT_INSTANCE_ID, host: config.TT_METRICS_HOST ?? config.TT_GRPC_HOST, port: config.TT_METRICS_PORT, routes: [probeRoutes(readiness)] });
  const link = await ClusterLink.open(config, logger, 'admin').catch((err: unknown) => {
    // Bad TLS or etcd settings: the same exit as any other bad key.
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  });
  followLiveInstances(readiness.add('db-proxy-live'), link.dbProxyWatch);
  followLiveInstances(readiness.add('route-live'), link.routeWatch);

  const server = createAdminHttpServer({ token: config.TT_ADMIN_TOKEN, maxBodyBytes: config.TT_ADMIN_MAX_BODY_BYTES, link, log: logger });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.TT_ADMIN_HTTP_PORT, config.TT_ADMIN_HTTP_HOST, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.TT_ADMIN_HTTP_PORT;
  const registration = await link.etcd.register({
    id: config.TT_INSTANCE_ID,
    service: 'admin',
    addr: `${config.TT_ADMIN_HTTP_HOST}:${port}`,
    load: 0,
    meta: { http: `http://${config.TT_ADMIN_HTTP_HOST}:${port}`, ...metricsMeta(metrics) },
  });
  followRegistration(registered, registration);
  logger.info({ port, metricsPort: metrics?.port }, 'admin HTTP API started');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), EXIT_DEADLINE_MS).unref();
    // /readyz answers 503 first, so a load balancer stops sending before the listener goes.
    readiness.drain();
    await registration.deregister();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
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
  process.stderr.write(`admin failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
