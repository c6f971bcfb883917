import { exitOnConfigError, logConfig } from '@tiertalk/config';
import { Readiness, probeRoutes } from '@tiertalk/health';
import { ServiceLifecycle, exitOnSignals, exitOnStartFailure, watchStore } from '@tiertalk/lifecycle';
import { Logger, createLogger } from '@tiertalk/log';
import { startServiceMetrics } from '@tiertalk/metrics';
import { advertisedHost, connectRegistry } from '@tiertalk/registry';
import { MsfsConfig, loadMsfsConfig } from './config';
import { startMsfsHttpServer } from './http-server';
import { createFileStore } from '@tiertalk/storage';

// Transfers are small (10 MiB by default): a few seconds let them finish before the process goes.
const GRACE_MS = 5000;
const HARD_EXIT_MS = 8000;

async function run(cfg: MsfsConfig, log: Logger): Promise<void> {
  // docs/HEALTH.md: ready while registered in etcd and the store answers (directory writable, bucket reachable).
  const readiness = new Readiness('msfs', log);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  const probes = probeRoutes(readiness);
  // docs/ARCHITECTURE.md "Start-up and shutdown": the lease goes first, so login stops handing this instance out while transfers finish.
  const life = new ServiceLifecycle({ log, readiness });
  // /metrics on the HTTP port unless TT_METRICS_PORT gives it a port of its own.
  const metrics = await startServiceMetrics({ service: 'msfs', instance: cfg.TT_INSTANCE_ID, host: cfg.TT_METRICS_HOST ?? cfg.TT_GRPC_HOST, port: cfg.TT_METRICS_PORT, routes: [probes] });
  life.closes('metrics', () => metrics?.close());
  if (cfg.TT_MSFS_STORAGE === 's3') sdkWarningToLog(log);
  const store = createFileStore(cfg);
  watchStore(store, readiness, life);
  const registry = await connectRegistry(cfg, 'msfs', log);
  life.closes('etcd', () => registry.close());
  const http = await startMsfsHttpServer({
    host: cfg.TT_MSFS_HTTP_HOST,
    port: cfg.TT_MSFS_HTTP_PORT,
    store,
    maxFileBytes: cfg.TT_MSFS_MAX_FILE_BYTES,
    allowedTypes: cfg.TT_MSFS_ALLOWED_TYPES,
    uploadsPerMinute: cfg.TT_MSFS_UPLOADS_PER_MINUTE,
    idleTimeoutMs: cfg.TT_MSFS_IDLE_TIMEOUT_MS,
    corsOrigins: cfg.TT_MSFS_CORS_ORIGINS,
    publicUrl: cfg.TT_MSFS_PUBLIC_URL === undefined ? undefined : withSlash(cfg.TT_MSFS_PUBLIC_URL),
    logger: log,
    serveMetrics: metrics === undefined,
    probes,
  });
  life.closes('HTTP server', () => http.close(GRACE_MS));
  const host = advertisedHost(cfg.TT_MSFS_HTTP_HOST);
  const url = withSlash(cfg.TT_MSFS_PUBLIC_URL ?? `http://${host}:${http.address.port}/`);

  // Registered last: once visible in etcd, login hands this URL out (meta.url; services/login msfs-picker.ts).
  await life.register(
    registry,
    { id: cfg.TT_INSTANCE_ID, service: 'msfs', addr: `${host}:${http.address.port}`, load: 0, meta: { url, httpPort: http.address.port, metricsPort: metrics?.port ?? http.address.port } },
    registered,
  );
  log.info({ url, store: store.description }, 'msfs started');
  exitOnSignals((reason) => life.stop(reason), { log, exitDeadlineMs: HARD_EXIT_MS });
}

/**
 * The AWS SDK prints a multi-line notice to stderr on Node < 22 (its next versions need 22), which
 * would break the one-JSON-object-per-line log; it goes into the log once instead.
 */
function sdkWarningToLog(log: Logger): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 22) log.warn({ node: process.versions.node }, 'AWS SDK releases after January 2027 need Node 22 or later; this one still runs on this Node');
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

const config = exitOnConfigError(() => loadMsfsConfig());
const logger = createLogger({ service: 'msfs', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
logConfig(logger, config);
run(config, logger).catch((err: unknown) => exitOnStartFailure(err, logger));
