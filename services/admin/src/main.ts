import { exitOnConfigError, logConfig } from '@tiertalk/config';
import { Readiness, followLiveInstances, probeRoutes } from '@tiertalk/health';
import { ServiceLifecycle, exitOnSignals, exitOnStartFailure, gracefulClose, listen } from '@tiertalk/lifecycle';
import { Logger, createLogger } from '@tiertalk/log';
import { metricsMeta, startServiceMetrics } from '@tiertalk/metrics';
import { ClusterLink } from '@tiertalk/cluster-ops';
import { AdminHttpConfig, loadAdminHttpConfig } from './config';
import { createAdminHttpServer } from './http-api';

const EXIT_DEADLINE_MS = 8_000;
/** Requests in flight at stop get nearly all of the exit deadline before their connections are cut. */
const HTTP_GRACE_MS = 7_000;

async function main(config: AdminHttpConfig, logger: Logger): Promise<void> {
  // docs/HEALTH.md: ready while registered and at least one db-proxy and one route are live in etcd (every operation needs db-proxy; disable and notifies need route).
  const readiness = new Readiness('admin', logger);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  // docs/ARCHITECTURE.md "Start-up and shutdown": /readyz answers 503 first, so a load balancer stops sending before the listener goes.
  const life = new ServiceLifecycle({ log: logger, readiness });
  const metrics = await startServiceMetrics({ service: 'admin', instance: config.TT_INSTANCE_ID, host: config.TT_METRICS_HOST ?? config.TT_GRPC_HOST, port: config.TT_METRICS_PORT, routes: [probeRoutes(readiness)] });
  life.closes('metrics', () => metrics?.close());
  // Bad TLS or etcd settings throw ConfigError: the same exit as any other bad key.
  const link = await ClusterLink.open(config, logger, 'admin');
  life.closes('cluster link', () => link.close());
  followLiveInstances(readiness.add('db-proxy-live'), link.dbProxyWatch);
  followLiveInstances(readiness.add('route-live'), link.routeWatch);

  const server = createAdminHttpServer({ token: config.TT_ADMIN_TOKEN, maxBodyBytes: config.TT_ADMIN_MAX_BODY_BYTES, link, log: logger });
  const { port } = await listen(server, config.TT_ADMIN_HTTP_PORT, config.TT_ADMIN_HTTP_HOST, 'admin HTTP API');
  const close = gracefulClose(server);
  life.closes('HTTP server', () => close(HTTP_GRACE_MS));
  await life.register(
    link.etcd,
    {
      id: config.TT_INSTANCE_ID,
      service: 'admin',
      addr: `${config.TT_ADMIN_HTTP_HOST}:${port}`,
      load: 0,
      meta: { http: `http://${config.TT_ADMIN_HTTP_HOST}:${port}`, ...metricsMeta(metrics) },
    },
    registered,
  );
  logger.info({ port, metricsPort: metrics?.port }, 'admin HTTP API started');
  exitOnSignals((reason) => life.stop(reason), { log: logger, exitDeadlineMs: EXIT_DEADLINE_MS });
}

const config = exitOnConfigError(() => loadAdminHttpConfig());
const logger = createLogger({ service: 'admin', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
logConfig(logger, config);
main(config, logger).catch((err: unknown) => exitOnStartFailure(err, logger));
