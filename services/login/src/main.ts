import { hostname } from 'node:os';
import { exitOnConfigError } from '@tiertalk/config';
import { Logger, createLogger } from '@tiertalk/log';
import { Registry, etcdAccessFromConfig } from '@tiertalk/registry';
import { LoginConfig, loadLoginConfig } from './config';
import { startHttpServer } from './http-server';
import { startLegacyTcpServer } from './legacy-tcp';

// In-flight requests are tiny; past this the process exits anyway so an orchestrator's kill never has to.
const GRACE_MS = 2000;
const HARD_EXIT_MS = 5000;

async function run(cfg: LoginConfig, log: Logger): Promise<void> {
  const registry = await Registry.connect({
    endpoints: [...cfg.TT_ETCD_ENDPOINTS],
    prefix: cfg.TT_ETCD_PREFIX,
    leaseTtlSec: cfg.TT_LEASE_TTL_SEC,
    logger: log,
    ...exitOnConfigError(() => etcdAccessFromConfig(cfg, 'login')),
  });
  const msgGateways = await registry.watch('msg');
  const gateways = () => msgGateways.list();

  const http = await startHttpServer({
    host: cfg.TT_HTTP_HOST,
    port: cfg.TT_HTTP_PORT,
    gateways,
    msfsUrl: cfg.TT_MSFS_URL,
    discoveryUrl: cfg.TT_DISCOVERY_URL,
    logger: log,
  });
  const legacy = cfg.TT_LEGACY_TCP_ENABLED
    ? await startLegacyTcpServer({ host: cfg.TT_HTTP_HOST, port: cfg.TT_LEGACY_TCP_PORT, gateways, logger: log })
    : undefined;

  // Registered last: once visible in etcd, the service answers.
  const registration = await registry.register({
    id: cfg.TT_INSTANCE_ID,
    service: 'login',
    addr: `${advertisedHost(cfg.TT_HTTP_HOST)}:${http.address.port}`,
    load: 0,
    meta: legacy ? { httpPort: http.address.port, legacyTcpPort: legacy.address.port } : { httpPort: http.address.port },
  });
  log.info({ gateways: msgGateways.size, legacyTcp: legacy !== undefined }, 'login started');

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error('shutdown took too long, exiting');
      process.exit(1);
    }, HARD_EXIT_MS).unref();
    // ARCHITECTURE.md: the lease goes first, so nobody is sent here while we close.
    await registration.deregister();
    await Promise.all([http.close(GRACE_MS), legacy?.close(GRACE_MS)]);
    await registry.close();
    log.info('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown(signal).catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
    });
  }
}

/** A wildcard bind address means nothing to others; publish the host name instead. */
function advertisedHost(bindHost: string): string {
  return bindHost === '0.0.0.0' || bindHost === '::' ? hostname() : bindHost;
}

const config = exitOnConfigError(() => loadLoginConfig());
const logger = createLogger({ service: 'login', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
run(config, logger).catch((err: unknown) => {
  logger.fatal({ err }, 'start-up failed');
  process.exit(1);
});
