import { exitOnConfigError, logConfig } from '@tiertalk/config';
import { Logger, createLogger } from '@tiertalk/log';
import { metricsMeta, startServiceMetrics } from '@tiertalk/metrics';
import { Readiness, followLiveInstances, probeRoutes } from '@tiertalk/health';
import { ServiceLifecycle, exitOnSignals, exitOnStartFailure } from '@tiertalk/lifecycle';
import { advertisedHost, connectRegistry } from '@tiertalk/registry';
import { ServerCertificate } from '@tiertalk/tls';
import { LoginConfig, loadLoginConfig } from './config';
import { GatewayBalancer } from './gateway-balancer';
import { fixedMsfs, pickMsfs } from './msfs-picker';
import { startHttpServer } from './http-server';
import { startLegacyTcpServer } from './legacy-tcp';
import { defaultWebDir, loadWebFiles } from './web-files';
import { startWebServer } from './web-server';

// In-flight requests are tiny; past this the process exits anyway so an orchestrator's kill never has to.
const GRACE_MS = 2000;
const HARD_EXIT_MS = 5000;

async function run(cfg: LoginConfig, log: Logger): Promise<void> {
  // docs/HEALTH.md: /healthz and /readyz on the HTTP port (and the metrics port when it has one). Ready once
  // registered; no live gateway is only a warning: /msg_server then answers TeamTalk's "no msg_server" error,
  // which a client shows, rather than the connection refusal an unready (unrouted) login would give.
  const readiness = new Readiness('login', log);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  const probes = probeRoutes(readiness);
  // docs/ARCHITECTURE.md "Start-up and shutdown": the lease goes first, so nobody is sent here while we close.
  const life = new ServiceLifecycle({ log, readiness });
  // /metrics on the HTTP port unless TT_METRICS_PORT gives it a port of its own (off the client-facing one).
  const metrics = await startServiceMetrics({ service: 'login', instance: cfg.TT_INSTANCE_ID, host: cfg.TT_METRICS_HOST ?? cfg.TT_GRPC_HOST, port: cfg.TT_METRICS_PORT, routes: [probes] });
  life.closes('metrics', () => metrics?.close());
  const registry = await connectRegistry(cfg, 'login', log);
  life.closes('etcd', () => registry.close());
  const msgGateways = await registry.watch('msg');
  followLiveInstances(readiness.add('msg-gateways', { critical: false }), msgGateways);
  // One balancer for both listeners: it counts every address handed out since each gateway's last load report.
  const balancer = new GatewayBalancer();
  const pick = () => balancer.pick(msgGateways.list());
  // TT_MSFS_URL overrides discovery (e.g. a CDN or proxy in front of the msfs instances).
  let msfs = fixedMsfs(cfg.TT_MSFS_URL ?? '');
  if (cfg.TT_MSFS_URL === undefined) {
    const msfsInstances = await registry.watch('msfs');
    // Not critical: without a file store clients still log in and chat; they only cannot send images.
    followLiveInstances(readiness.add('msfs-instances', { critical: false }), msfsInstances);
    msfs = () => pickMsfs(msfsInstances.list());
  }

  // Start-up fails here on unreadable or mismatched certificate files.
  const certificate =
    cfg.TT_CLIENT_TLS_CERT !== undefined && cfg.TT_CLIENT_TLS_KEY !== undefined
      ? new ServerCertificate({ cert: cfg.TT_CLIENT_TLS_CERT, key: cfg.TT_CLIENT_TLS_KEY }, { logger: log, pollMs: cfg.TT_CLIENT_TLS_POLL_MS })
      : undefined;
  life.closes('client certificate', () => certificate?.close());
  const http = await startHttpServer({
    host: cfg.TT_HTTP_HOST,
    port: cfg.TT_HTTP_PORT,
    pick,
    msfs,
    discoveryUrl: cfg.TT_DISCOVERY_URL,
    logger: log,
    serveMetrics: metrics === undefined,
    probes,
    tls: certificate ? { certificate, handshakeTimeoutMs: cfg.TT_TLS_HANDSHAKE_TIMEOUT_MS } : undefined,
  });
  const web = cfg.TT_WEB_ENABLED
    ? await startWebServer({
        host: cfg.TT_HTTP_HOST,
        port: cfg.TT_WEB_PORT,
        // Start-up fails here when the web client was not built.
        files: loadWebFiles(cfg.TT_WEB_DIR ?? defaultWebDir()),
        pick,
        msfs,
        discoveryUrl: cfg.TT_DISCOVERY_URL,
        logger: log,
        tls: certificate ? { certificate, handshakeTimeoutMs: cfg.TT_TLS_HANDSHAKE_TIMEOUT_MS } : undefined,
      })
    : undefined;
  const legacy = cfg.TT_LEGACY_TCP_ENABLED
    ? await startLegacyTcpServer({ host: cfg.TT_HTTP_HOST, port: cfg.TT_LEGACY_TCP_PORT, pick, logger: log })
    : undefined;
  // Together: each gets the same grace, not one after the other.
  life.closes('client listeners', () => Promise.all([http.close(GRACE_MS), legacy?.close(GRACE_MS), web?.close(GRACE_MS)]));

  // Registered last: once visible in etcd, the service answers.
  await life.register(registry, {
    id: cfg.TT_INSTANCE_ID,
    service: 'login',
    addr: `${advertisedHost(cfg.TT_HTTP_HOST)}:${http.address.port}`,
    load: 0,
    meta: {
      httpPort: http.address.port,
      metricsPort: metrics?.port ?? http.address.port,
      ...(certificate ? { https: 1 } : {}),
      ...(legacy ? { legacyTcpPort: legacy.address.port } : {}),
      ...(web ? { webPort: web.address.port } : {}),
    },
  }, registered);
  log.info({ gateways: msgGateways.size, legacyTcp: legacy !== undefined }, 'login started');
  exitOnSignals((reason) => life.stop(reason), { log, exitDeadlineMs: HARD_EXIT_MS });
}

const config = exitOnConfigError(() => loadLoginConfig());
const logger = createLogger({ service: 'login', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
logConfig(logger, config);
run(config, logger).catch((err: unknown) => exitOnStartFailure(err, logger));
