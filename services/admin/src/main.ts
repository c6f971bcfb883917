import { ConfigError, exitOnConfigError, logConfig } from '@tiertalk/config';
import { createLogger } from '@tiertalk/log';
import { ClusterLink } from './cluster-link';
import { loadAdminHttpConfig } from './config';
import { createAdminHttpServer } from './http-api';

const EXIT_DEADLINE_MS = 8_000;

async function main(): Promise<void> {
  const config = exitOnConfigError(() => loadAdminHttpConfig());
  const logger = createLogger({ service: 'admin', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
  logConfig(logger, config);
  const link = await ClusterLink.open(config, logger, 'admin').catch((err: unknown) => {
    // Bad TLS or etcd settings: the same exit as any other bad key.
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  });

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
    meta: { http: `http://${config.TT_ADMIN_HTTP_HOST}:${port}` },
  });
  logger.info({ port }, 'admin HTTP API started');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), EXIT_DEADLINE_MS).unref();
    await registration.deregister();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await link.close();
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
