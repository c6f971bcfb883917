import { exitOnConfigError, logConfig } from '@tiertalk/config';
import { Readiness, healthAccess, probeRoutes, serveHealth } from '@tiertalk/health';
import { ServiceLifecycle, exitOnSignals, exitOnStartFailure, watchStore } from '@tiertalk/lifecycle';
import { Logger, createLogger } from '@tiertalk/log';
import { RefusalLog, metricsMeta, startServiceMetrics } from '@tiertalk/metrics';
import { FileServerService } from '@tiertalk/proto';
import { advertisedHost, connectRegistry } from '@tiertalk/registry';
import { bindServer, createServer, reloadTlsOnSighup, rpcSecurityFromConfig } from '@tiertalk/rpc';
import { createFileStore } from '@tiertalk/storage';
import { fileServerAccess } from './access-policy';
import { startClientServer } from './client-server';
import { FileConfig, loadFileConfig } from './config';
import { exportTaskCount } from './file-metrics';
import { OfflineStore } from './offline-store';
import { TaskTable } from './task-table';
import { transferRpc } from './transfer-rpc';

const HARD_EXIT_MS = 8000;

async function run(cfg: FileConfig, log: Logger): Promise<void> {
  // docs/HEALTH.md: ready while registered in etcd and the store answers.
  const readiness = new Readiness('file', log);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  // docs/ARCHITECTURE.md "Start-up and shutdown": each part closes at stop, the last started first.
  const life = new ServiceLifecycle({ log, readiness });
  const metrics = await startServiceMetrics({ service: 'file', instance: cfg.TT_INSTANCE_ID, host: cfg.TT_METRICS_HOST ?? cfg.TT_GRPC_HOST, port: cfg.TT_METRICS_PORT, routes: [probeRoutes(readiness)] });
  life.closes('metrics', () => metrics?.close());
  const security = exitOnConfigError(() => rpcSecurityFromConfig(cfg, { service: 'file', bindHost: cfg.TT_GRPC_HOST, logger: log }));
  reloadTlsOnSighup(security);
  const store = createFileStore(cfg);
  watchStore(store, readiness, life);
  const offline = new OfflineStore(store);
  const tasks = new TaskTable({ timeoutMs: cfg.TT_FILE_TASK_TIMEOUT_MS, maxTasks: cfg.TT_FILE_MAX_TASKS, logger: log }, offline);
  exportTaskCount(() => tasks.size);
  tasks.startSweep();
  const refusals = new RefusalLog(log);

  const clients = await startClientServer(cfg.TT_FILE_HOST, cfg.TT_FILE_PORT, {
    tasks,
    offline,
    maxChunkBytes: cfg.TT_FILE_MAX_CHUNK_BYTES,
    loginTimeoutMs: cfg.TT_FILE_TASK_TIMEOUT_MS,
    refusals,
    logger: log,
  });
  // Registered after the client listener: the transfers end (cancelled) before it closes.
  life.closes('client listener', () => clients.close());
  life.closes('transfer tasks', () => tasks.stop());
  const address = { ip: cfg.TT_FILE_PUBLIC_IP ?? advertisedHost(cfg.TT_FILE_HOST), port: cfg.TT_FILE_PUBLIC_PORT || clients.port };

  const registry = await connectRegistry(cfg, 'file', log);
  life.closes('etcd', () => registry.close());
  const server = createServer({ security, access: [fileServerAccess, healthAccess], refusals });
  serveHealth(server, readiness, 'tiertalk.FileServer');
  server.addService(FileServerService, transferRpc({ tasks, maxFileBytes: cfg.TT_FILE_MAX_FILE_BYTES, address, logger: log }));
  const grpcPort = await bindServer(server, cfg.TT_GRPC_HOST, cfg.TT_GRPC_PORT);
  life.closes('gRPC server', () => server.forceShutdown());

  // Registered last: gateways hand out meta.ip / meta.port to clients (services/msg upstream/file-servers.ts).
  await life.register(
    registry,
    { id: cfg.TT_INSTANCE_ID, service: 'file', addr: `${cfg.TT_GRPC_HOST}:${grpcPort}`, load: 0, meta: { ip: address.ip, port: address.port, ...metricsMeta(metrics) } },
    registered,
  );
  log.info({ grpcPort, clientPort: clients.port, address, store: store.description }, 'file server started');
  exitOnSignals((reason) => life.stop(reason), { log, exitDeadlineMs: HARD_EXIT_MS });
}

const config = exitOnConfigError(() => loadFileConfig());
const logger = createLogger({ service: 'file', instanceId: config.TT_INSTANCE_ID, level: config.TT_LOG_LEVEL });
logConfig(logger, config);
run(config, logger).catch((err: unknown) => exitOnStartFailure(err, logger));
