import { ConfigError, exitOnConfigError, logConfig } from '@tiertalk/config';
import { createLogger } from '@tiertalk/log';
import type { Logger } from '@tiertalk/log';
import { GatewayService } from '@tiertalk/proto';
import { Readiness, followLiveInstances, followRegistration, healthAccess, probeRoutes, serveHealth } from '@tiertalk/health';
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
import { boundedStep, shutdownGrpcServer } from './shutdown';
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
  /** Graceful stop in the order below; resolves when everything is closed. */
  stop(reason: string): Promise<void>;
}

/** Wires the gateway; exported so integration tests can run it in-process. */
export async function startGateway(config: MsgConfig, log: Logger): Promise<RunningGateway> {
  // docs/HEALTH.md: ready while registered and at least one db-proxy and one route are live in etcd.
  const readiness = new Readiness('msg', log);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered in etcd yet' });
  const metrics = await startServiceMetrics({ service: 'msg', instance: config.instanceId, host: config.metricsHost, port: config.metricsPort, routes: [probeRoutes(readiness)] });
  // ConfigError when TLS is neither configured nor explicitly off on loopback.
  const security = rpcSecurityFromConfig(config.tierSecurity, { service: 'msg', bindHost: config.grpcHost, logger: log });
  const stopTlsReload = reloadTlsOnSighup(security);
  const registry = await Registry.connect({
    endpoints: [...config.etcdEndpoints],
    prefix: config.etcdPrefix,
    leaseTtlSec: config.leaseTtlSec,
    logger: log,
    ...etcdAccessFromConfig(config.tierSecurity, 'msg'),
  });
  const dbWatch = await registry.watch('db-proxy');
  const routeWatch = await registry.watch('route');
  const fileWatch = await registry.watch('file');
  const filePool = new InstancePool(fileWatch, { logger: log, security });
  const fileServers = new FileServerDirectory(fileWatch, new FileServerLink(filePool, config.dbDeadlineMs));
  followLiveInstances(readiness.add('db-proxy-live'), dbWatch);
  followLiveInstances(readiness.add('route-live'), routeWatch);
  const dbPool = new InstancePool(dbWatch, { logger: log, security });
  const routePool = new InstancePool(routeWatch, { logger: log, security });
  const db = new DbProxyLink(dbPool, { deadlineMs: config.dbDeadlineMs, storeDeadlineMs: config.storeDeadlineMs, batchMax: config.storeBatchMax, logger: log });
  const route = new RouteLink(routePool, { deadlineMs: config.routeDeadlineMs, batchMax: config.storeBatchMax, logger: log });

  const connections = new ConnectionRegistry(log);
  const unexportConnections = exportConnectionCounts(connections);
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
  connections.startAckSweep();

  // Registered only once every listener is up: login may hand us out from now on.
  // port 0: no plain TCP (login then offers the TLS port alone).
  const address = { ip1: config.ip1, ip2: config.ip2, port: tcp?.port ?? 0, wsPort: ws.port, ...(config.clientTls?.ws === true ? { wss: 1 } : {}), ...(tlsTcp ? { tlsPort: tlsTcp.port } : {}), maxConn: config.maxConn, epoch: config.epoch, presenceLists: 1, ...metricsMeta(metrics) };
  const registration = await registry.register({ id: config.instanceId, service: 'msg', addr: `${config.grpcHost}:${grpcPort}`, ...load.snapshot(address) });
  load.attach(registration, address);
  followRegistration(registered, registration);
  // A lapsed lease made route purge our sessions: list them again once we are back.
  registration.onReRegistered(() => sessionSync.request('lease-renewed'));
  sessionSync.start();
  log.info({ tcpPort: tcp?.port, tlsPort: tlsTcp?.port, wsPort: ws.port, wss: config.clientTls?.ws === true, grpcPort }, 'msg gateway ready');

  let stopping: Promise<void> | undefined;
  const stop = async (reason: string): Promise<void> => {
    ctx.lifecycle.stopping = true;
    readiness.drain();
    log.info({ reason, connections: connections.size }, 'shutting down');
    // Leave etcd first: login stops handing us out, route purges our sessions.
    load.detach();
    sessionSync.close();
    await boundedStep(registration.deregister(), STEP_TIMEOUT_MS, log, 'deregister');
    tcp?.stopAccepting();
    tlsTcp?.stopAccepting();
    ws.stopAccepting();
    clientTls?.certificate.close();
    // Stored-but-unanswered messages still get their ACK.
    if (!(await db.waitIdle(STORE_DRAIN_MS))) log.warn({ inFlight: db.inFlight }, 'store results still pending at shutdown');
    // Their ACKs wait for a route to hold the envelope (bounded by the route link's hold wait).
    if (!(await route.waitHeld(STORE_DRAIN_MS))) log.warn('ACKs still waiting for route at shutdown');
    groupPushes.close();
    connections.closeAll('server shutdown');
    connections.stop();
    unexportConnections();
    db.close();
    route.close();
    await shutdownGrpcServer(grpcServer, STEP_TIMEOUT_MS);
    dbPool.close();
    routePool.close();
    filePool.close();
    await boundedStep(registry.close(), STEP_TIMEOUT_MS, log, 'registry close');
    await metrics?.close();
    stopTlsReload();
    if (security.kind === 'mtls') security.files.close();
    log.info('stopped');
  };
  return {
    tcpPort: tcp?.port ?? 0,
    tlsPort: tlsTcp?.port,
    wsPort: ws.port,
    grpcPort,
    stop: (reason) => (stopping ??= stop(reason)),
  };
}

if (require.main === module) {
  const config = exitOnConfigError(() => loadMsgConfig());
  const log = createLogger({ service: 'msg', instanceId: config.instanceId, level: config.logLevel });
  logConfig(log, config);
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
  startGateway(config, log).then(
    (gateway) => {
      const onSignal = (signal: string): void => {
        setTimeout(() => {
          log.error('shutdown took too long; exiting');
          process.exit(1);
        }, HARD_EXIT_MS).unref();
        void gateway.stop(signal).then(() => {
          // Let closing sockets flush; whatever still holds the loop is cut shortly after.
          process.exitCode = 0;
          setTimeout(() => process.exit(0), FLUSH_MS).unref();
        });
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        process.exit(2);
      }
      log.fatal({ err }, 'msg gateway failed to start');
      process.exit(1);
    },
  );
}
