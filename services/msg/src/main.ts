import { exitOnConfigError, logConfig } from '@tiertalk/config';
import { ServiceLifecycle, exitOnSignals, exitOnStartFailure, shutdownGrpcServer } from '@tiertalk/lifecycle';
import { createLogger } from '@tiertalk/log';
import type { Logger } from '@tiertalk/log';
import { GatewayService } from '@tiertalk/proto';
import { Readiness, followLiveInstances, healthAccess, probeRoutes, serveHealth } from '@tiertalk/health';
import { RefusalLog, metricsMeta, startServiceMetrics } from '@tiertalk/metrics';
import { Registry, etcdAccessFromConfig } from '@tiertalk/registry';
import { InstancePool, bindServer, createServer, reloadTlsOnSighup, rpcSecurityFromConfig } from '@tiertalk/rpc';
import { gatewayAccess } from './access-policy';
import { createClientAcceptor } from './client-acceptor';
import { loadMsgConfig } from './config';
import type { MsgConfig } from './config';
import { ClientAdmission } from './conn/admission';
import type { Connection } from './conn/connection';
import { exportConnectionCounts } from './conn/connection-metrics';
import { ConnectionRegistry } from './conn/connection-registry';
import { openClientTls } from './conn/client-tls';
import { startTcpServer } from './conn/tcp-server';
import { startWsServer } from './conn/ws-server';
import { Dispatcher } from './dispatcher';
import { FileServerDirectory } from './upstream/file-servers';
import { FileServerLink } from './upstream/file-server-link';
import type { GatewayContext } from './gateway-context';
import { createGatewayService } from './gateway-service';
import { GroupPushControl } from './group-push/traffic-control';
import { fileHandlers } from './handlers/file';
import { groupHandlers } from './handlers/group';
import { loginHandlers } from './handlers/login';
import { messageHandlers } from './handlers/message';
import { recallHandlers } from './handlers/recall';
import { pushHandlers } from './handlers/push';
import { sessionHandlers } from './handlers/session';
import { userHandlers } from './handlers/user';
import { otherHandlers } from './handlers/other';
import { LoadReporter } from './load-reporter';
import { DbProxyLink } from './upstream/db-proxy-link';
import { RouteLink } from './upstream/route-link';
import { SessionSync } from './upstream/session-sync';

// In-flight stores get this long to be ACKed before clients are closed.
const STORE_DRAIN_MS = 3000;
const STEP_TIMEOUT_MS = 2000;
const HARD_EXIT_MS = 9000;
// Closing sockets get this long to flush before the process is cut.
const FLUSH_MS = 500;

export interface RunningGateway {
  /** 0 when plain TCP is off (TT_PLAIN_TCP=false). */
  readonly tcpPort: number;
  /** The TeamTalk-over-TLS port; undefined without TT_TLS_TCP_PORT. */
  readonly tlsPort: number | undefined;
  readonly wsPort: number;
  readonly grpcPort: number;
  /** Graceful stop in the order below; resolves when everything is closed, true when every step finished in time. */
  stop(reason: string): Promise<boolean>;
}

/** Wires the gateway; exported so integration tests can run it in-process. */
export async function startGateway(config: MsgConfig, log: Logger): Promise<RunningGateway> {
  // docs/HEALTH.md: ready while registered and at least one db-proxy and one route are live in etcd.
  const readiness = new Readiness('msg', log);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  // docs/ARCHITECTURE.md "Start-up and shutdown": each part closes at stop, the last started first.
  const life = new ServiceLifecycle({ log, readiness, deregisterTimeoutMs: STEP_TIMEOUT_MS });
  const metrics = await startServiceMetrics({ service: 'msg', instance: config.instanceId, host: config.metricsHost, port: config.metricsPort, routes: [probeRoutes(readiness)] });
  life.closes('metrics', () => metrics?.close());
  // ConfigError when TLS is neither configured nor explicitly off on loopback.
  const security = rpcSecurityFromConfig(config.tierSecurity, { service: 'msg', bindHost: config.grpcHost, logger: log });
  const stopTlsReload = reloadTlsOnSighup(security);
  life.closes('tier TLS reloads', () => {
    stopTlsReload();
    if (security.kind === 'mtls') security.files.close();
  });
  const registry = await Registry.connect({
    endpoints: [...config.etcdEndpoints],
    prefix: config.etcdPrefix,
    leaseTtlSec: config.leaseTtlSec,
    logger: log,
    ...etcdAccessFromConfig(config.tierSecurity, 'msg'),
  });
  life.closes('etcd', () => registry.close(), { timeoutMs: STEP_TIMEOUT_MS });
  const dbWatch = await registry.watch('db-proxy');
  const routeWatch = await registry.watch('route');
  const fileWatch = await registry.watch('file');
  const filePool = new InstancePool(fileWatch, { logger: log, security });
  life.closes('file-server pool', () => filePool.close());
  const fileServers = new FileServerDirectory(fileWatch, new FileServerLink(filePool, config.dbDeadlineMs));
  followLiveInstances(readiness.add('db-proxy-live'), dbWatch);
  followLiveInstances(readiness.add('route-live'), routeWatch);
  const dbPool = new InstancePool(dbWatch, { logger: log, security });
  const routePool = new InstancePool(routeWatch, { logger: log, security });
  life.closes('db-proxy and route pools', () => {
    dbPool.close();
    routePool.close();
  });
  const db = new DbProxyLink(dbPool, { deadlineMs: config.dbDeadlineMs, storeDeadlineMs: config.storeDeadlineMs, batchMax: config.storeBatchMax, logger: log });
  life.closes('db-proxy link', () => db.close());
  const route = new RouteLink(routePool, { deadlineMs: config.routeDeadlineMs, batchMax: config.storeBatchMax, logger: log });
  life.closes('route link', () => route.close());

  const connections = new ConnectionRegistry(log);
  const unexportConnections = exportConnectionCounts(connections);
  life.closes('connection metrics', unexportConnections);
  const load = new LoadReporter(connections, log, config.loadReportIntervalMs);
  const refusals = new RefusalLog(log);
  const ctx: GatewayContext = { gatewayId: config.gatewayId, config, log, connections, db, route, fileServers, load, refusals, lifecycle: { stopping: false } };
  const dispatcher = new Dispatcher(ctx, [loginHandlers, otherHandlers, messageHandlers, sessionHandlers, userHandlers, pushHandlers, groupHandlers, recallHandlers, fileHandlers]);
  const accept = createClientAcceptor(ctx, dispatcher);
  const admission = new ClientAdmission(config.admission, refusals);

  const clientTls = openClientTls(config.clientTls, refusals, log);
  const tcp = config.plainTcp ? await startTcpServer(config.listenHost, config.tcpPort, accept, log, admission) : undefined;
  const tlsTcp = clientTls && config.tlsTcpPort !== undefined ? await startTcpServer(config.listenHost, config.tlsTcpPort, accept, log, admission, clientTls) : undefined;
  const ws = await startWsServer(config.listenHost, config.wsPort, config.conn.maxFrameBytes, accept, log, admission, config.clientTls?.ws ? clientTls : undefined);
  const grpcServer = createServer({ security, access: [gatewayAccess, healthAccess], refusals });
  serveHealth(grpcServer, readiness, 'tiertalk.Gateway');
  // A queued connection may have closed meanwhile: the control checks it again at delivery.
  const groupPushes = new GroupPushControl<Connection>({ ...config.groupPush, logger: log });
  const sessionSync = new SessionSync({ gatewayId: config.gatewayId, connections, route, logger: log, intervalMs: config.sessionSyncIntervalMs });
  grpcServer.addService(GatewayService, createGatewayService(ctx, groupPushes, () => sessionSync.request('route-resync')));
  const grpcPort = await bindServer(grpcServer, config.grpcHost, config.grpcPort);
  life.closes('gRPC server', () => shutdownGrpcServer(grpcServer, STEP_TIMEOUT_MS));
  connections.startAckSweep();
  life.closes('client connections', () => {
    connections.closeAll('server shutdown');
    connections.stop();
  });
  life.closes('group pushes', () => groupPushes.close());

  // At stop, first: leave etcd so login stops handing us out and route purges our sessions.
  life.onStopping(() => {
    ctx.lifecycle.stopping = true;
    log.info({ connections: connections.size }, 'gateway stopping');
    load.detach();
    sessionSync.close();
  });
  life.drains('client listeners', STEP_TIMEOUT_MS, () => {
    tcp?.stopAccepting();
    tlsTcp?.stopAccepting();
    ws.stopAccepting();
    clientTls?.certificate.close();
  });
  // Stored-but-unanswered messages still get their ACK.
  life.drains('stores in flight', STORE_DRAIN_MS, async (ms) => {
    if (!(await db.waitIdle(ms))) log.warn({ inFlight: db.inFlight }, 'store results still pending at shutdown');
  });
  // Their ACKs wait for a route to hold the envelope (bounded by the route link's hold wait).
  life.drains('ACKs waiting for route', STORE_DRAIN_MS, async (ms) => {
    if (!(await route.waitHeld(ms))) log.warn('ACKs still waiting for route at shutdown');
  });

  // Registered only once every listener is up: login may hand us out from now on.
  // port 0: no plain TCP (login then offers the TLS port alone).
  const address = { ip1: config.ip1, ip2: config.ip2, port: tcp?.port ?? 0, wsPort: ws.port, ...(config.clientTls?.ws === true ? { wss: 1 } : {}), ...(tlsTcp ? { tlsPort: tlsTcp.port } : {}), maxConn: config.maxConn, epoch: config.epoch, presenceLists: 1, ...metricsMeta(metrics) };
  const registration = await life.register(registry, { id: config.instanceId, service: 'msg', addr: `${config.grpcHost}:${grpcPort}`, ...load.snapshot(address) }, registered);
  load.attach(registration, address);
  // A lapsed lease made route purge our sessions: list them again once we are back.
  registration.onReRegistered(() => sessionSync.request('lease-renewed'));
  sessionSync.start();
  log.info({ tcpPort: tcp?.port, tlsPort: tlsTcp?.port, wsPort: ws.port, wss: config.clientTls?.ws === true, grpcPort }, 'msg gateway ready');

  return {
    tcpPort: tcp?.port ?? 0,
    tlsPort: tlsTcp?.port,
    wsPort: ws.port,
    grpcPort,
    stop: (reason) => life.stop(reason),
  };
}

if (require.main === module) {
  const config = exitOnConfigError(() => loadMsgConfig());
  const log = createLogger({ service: 'msg', instanceId: config.instanceId, level: config.logLevel });
  logConfig(log, config);
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
  startGateway(config, log).then(
    (gateway) => exitOnSignals((reason) => gateway.stop(reason), { log, exitDeadlineMs: HARD_EXIT_MS, flushMs: FLUSH_MS }),
    (err: unknown) => exitOnStartFailure(err, log),
  );
}
