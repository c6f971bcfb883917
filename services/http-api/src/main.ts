import { exitOnConfigError, logConfig } from '@tiertalk/config';
import { ClusterLink } from '@tiertalk/cluster-ops';
import { Readiness, followLiveInstances, probeRoutes } from '@tiertalk/health';
import { ServiceLifecycle, exitOnSignals, exitOnStartFailure, gracefulClose, listen } from '@tiertalk/lifecycle';
import { Logger, createLogger } from '@tiertalk/log';
import { StoreLink } from '@tiertalk/message-store';
import { metricsMeta, startServiceMetrics } from '@tiertalk/metrics';
import { HttpApiConfig, loadHttpApiConfig } from './config';
import { createHttpApiServer } from './http-server';
import { Users } from './users';

const EXIT_DEADLINE_MS = 8_000;
/** Messages being stored get this long to finish on SIGTERM before they are answered 503. */
const STORE_DRAIN_MS = 5_000;
/** Requests in flight at stop get nearly all of the exit deadline before their connections are cut. */
const HTTP_GRACE_MS = 7_000;

async function main(config: HttpApiConfig, logger: Logger): Promise<void> {
  // docs/HEALTH.md: ready while registered and at least one db-proxy (store, users, groups) and one route (pushes) are live in etcd.
  const readiness = new Readiness('http-api', logger);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  // docs/ARCHITECTURE.md "Start-up and shutdown": /readyz answers 503 first, so a load balancer stops sending before the listener goes.
  const life = new ServiceLifecycle({ log: logger, readiness });
  const metrics = await startServiceMetrics({ service: 'http-api', instance: config.TT_INSTANCE_ID, host: config.TT_METRICS_HOST ?? config.TT_GRPC_HOST, port: config.TT_METRICS_PORT, routes: [probeRoutes(readiness)] });
  life.closes('metrics', () => metrics?.close());
  // Bad TLS or etcd settings throw ConfigError: the same exit as any other bad key.
  const link = await ClusterLink.open(config, logger, 'http-api');
  life.closes('cluster link', () => link.close());
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
  const { port } = await listen(server, config.TT_HTTP_API_PORT, config.TT_HTTP_API_HOST, 'send API');
  const close = gracefulClose(server);
  life.closes('HTTP server', () => close(HTTP_GRACE_MS));
  // Closed before the listener's close is awaited: requests still waiting on a store are answered 503.
  life.closes('store link', () => store.close());
  // The listener takes no new request; the sends in flight finish.
  life.drains('sends in flight', STORE_DRAIN_MS, (ms) => {
    void close(HTTP_GRACE_MS);
    return store.waitIdle(ms);
  });
  await life.register(
    link.etcd,
    {
      id: config.TT_INSTANCE_ID,
      service: 'http-api',
      addr: `${config.TT_HTTP_API_HOST}:${port}`,
      load: 0,
      meta: { http: `http://${config.TT_HTTP_API_HOST}:${port}`, ...metricsMeta(metrics) },
    },
    registered,
  );
  logger.info({ port, metricsPort: metrics?.port }, 'send API started');
  exitOnSignals((reason) => life.stop(reason), { log: logger, exitDeadlineMs: EXIT_DEADLINE_MS });
}

const config = exitOnConfigError(() => loadHttpApiConfig());
const logger = createLogger({ service: 'http-api', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
logConfig(logger, config);
main(config, logger).catch((err: unknown) => exitOnStartFailure(err, logger));
