// The operator tools' way into the cluster (admin service and CLI, http-api):
// db-proxy and route found in etcd like every other tier, called with the
// tool's certificate (naming `admin` or `http-api`; db-proxy's and route's
// access policies say what each may call). db-proxy stays the only tier with
// MySQL and Redis.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import { IM, RouteService, tiertalk, type DeliverReport, type EnvelopeBatch } from '@tiertalk/proto';
import type { CommonConfig } from '@tiertalk/config';
import { Registry, etcdAccessFromConfig, type ServiceWatch } from '@tiertalk/registry';
import { InstancePool, NoInstanceError, callWithFailover, openBidi, rpcSecurityFromConfig, type ClientMethod, type RpcSecurity } from '@tiertalk/rpc';

export interface ClusterLinkConfig
  extends Pick<
    CommonConfig,
    | 'TT_ETCD_ENDPOINTS'
    | 'TT_ETCD_PREFIX'
    | 'TT_TLS_CA'
    | 'TT_TLS_CERT'
    | 'TT_TLS_KEY'
    | 'TT_GRPC_INSECURE'
    | 'TT_ETCD_CA'
    | 'TT_ETCD_CERT'
    | 'TT_ETCD_KEY'
    | 'TT_ETCD_USERNAME'
    | 'TT_ETCD_PASSWORD'
  > {
  TT_DB_DEADLINE_MS: number;
  TT_ROUTE_DEADLINE_MS: number;
}

/** What the operations need from the cluster. */
export interface OpsLink {
  /** A unary call to a db-proxy instance (DbProxy or DbAdmin method). */
  call<Req, Res>(method: ClientMethod<Req, Res>, req: Req): Promise<Res>;
  /** Notifies to users' sessions, through route (Route.Deliver). */
  deliver(envelopes: tiertalk.Envelope.$Properties[]): Promise<void>;
  /** Closes every session of the user, PC and mobile (Route.KickUser); the number kicked. */
  kickEverywhere(userId: number): Promise<number>;
}

const { CLIENT_TYPE_WINDOWS, CLIENT_TYPE_ANDROID } = IM.BaseDefine.ClientType;
/** Route instances a batch is offered to before deliver() gives up. */
const DELIVER_ATTEMPTS = 3;
// TeamTalk has no "account disabled" reason; DUPLICATE_USER is the one every client handles by going to its login screen.
const KICK_REASON = IM.BaseDefine.KickReasonType.KICK_REASON_DUPLICATE_USER;

/** One batch on a Route.Deliver stream; resolves on route's report for it. */
function deliverOnce(client: grpc.Client, batch: EnvelopeBatch, deadlineMs: number): Promise<DeliverReport> {
  return new Promise((resolve, reject) => {
    const stream = openBidi(client, RouteService.Deliver);
    let report: DeliverReport | undefined;
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`route did not confirm the notify within ${deadlineMs} ms`));
    }, deadlineMs);
    stream.on('data', (r: DeliverReport) => {
      // The first report may only say the batch was received (envelopes 0).
      if (r.envelopes > 0 || report === undefined) report = r;
    });
    stream.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.on('end', () => {
      clearTimeout(timer);
      if (report) resolve(report);
      else reject(new Error('route closed the deliver stream without a report'));
    });
    stream.write(batch);
    stream.end();
  });
}

export class ClusterLink implements OpsLink {
  private constructor(
    private readonly config: ClusterLinkConfig,
    private readonly log: Logger,
    private readonly registry: Registry,
    private readonly security: RpcSecurity,
    private readonly dbPool: InstancePool,
    private readonly routePool: InstancePool,
    /** The etcd watches the pools follow; the HTTP service's readiness reads them (db-proxy-live, route-live). */
    readonly dbProxyWatch: ServiceWatch,
    readonly routeWatch: ServiceWatch,
  ) {}

  /** Connects to etcd and watches db-proxy and route; throws ConfigError on bad TLS settings. */
  static async open(config: ClusterLinkConfig, log: Logger, service: string): Promise<ClusterLink> {
    const security = rpcSecurityFromConfig(config, { service, bindHost: undefined, logger: log });
    const etcdAccess = etcdAccessFromConfig(config, service);
    let registry: Registry | undefined;
    try {
      registry = await Registry.connect({ endpoints: [...config.TT_ETCD_ENDPOINTS], prefix: config.TT_ETCD_PREFIX, leaseTtlSec: 5, logger: log, ...etcdAccess });
      const dbProxyWatch = await registry.watch('db-proxy');
      const routeWatch = await registry.watch('route');
      const dbPool = new InstancePool(dbProxyWatch, { logger: log, security });
      const routePool = new InstancePool(routeWatch, { logger: log, security });
      return new ClusterLink(config, log, registry, security, dbPool, routePool, dbProxyWatch, routeWatch);
    } catch (err) {
      if (security.kind === 'mtls') security.files.close();
      await registry?.close();
      throw err;
    }
  }

  /** The db-proxy instances, for a StoreMessages link of the caller's own (http-api, libs/message-store). */
  get dbProxyPool(): InstancePool {
    return this.dbPool;
  }

  /** The registry, for the HTTP service's own registration. */
  get etcd(): Registry {
    return this.registry;
  }

  call<Req, Res>(method: ClientMethod<Req, Res>, req: Req): Promise<Res> {
    return callWithFailover(this.dbPool, method, req, { deadlineMs: this.config.TT_DB_DEADLINE_MS });
  }

  /**
   * One batch to one route instance, again on another one (up to 3) when a
   * stream fails: at least once, as a gateway's deliveries (a push repeated
   * after a lost report carries the same ids; clients show it once).
   */
  async deliver(envelopes: tiertalk.Envelope.$Properties[]): Promise<void> {
    const batch = tiertalk.EnvelopeBatch.create({ items: envelopes.map((e) => tiertalk.Envelope.create(e)) });
    const tried = new Set<string>();
    let lastErr: unknown = new NoInstanceError('route');
    for (let attempt = 0; attempt < DELIVER_ATTEMPTS; attempt += 1) {
      const route = this.routePool.pick(tried);
      if (!route) break;
      tried.add(route.id);
      try {
        const report = await deliverOnce(route.client, batch, this.config.TT_ROUTE_DEADLINE_MS);
        this.log.info({ envelopes: report.envelopes, pushes: report.pushes }, 'notify delivered');
        return;
      } catch (err) {
        lastErr = err;
        this.routePool.markFailed(route.id);
        this.log.warn({ err, instance: route.id }, 'route did not take the batch; trying another instance');
      }
    }
    throw lastErr;
  }

  async kickEverywhere(userId: number): Promise<number> {
    let kicked = 0;
    // KickUser closes one client class per call (docs/FLOWS.md §11): PC, then mobile.
    // Any route instance reads the shared session registry; a kick repeated on another one after a failure is harmless.
    for (const clientType of [CLIENT_TYPE_WINDOWS, CLIENT_TYPE_ANDROID]) {
      const req = IM.Server.IMServerKickUser.create({ userId, clientType, reason: KICK_REASON });
      const rsp = await callWithFailover(this.routePool, RouteService.KickUser, req, { deadlineMs: this.config.TT_ROUTE_DEADLINE_MS });
      kicked += rsp.kicked;
    }
    return kicked;
  }

  async close(): Promise<void> {
    this.dbPool.close();
    this.routePool.close();
    if (this.security.kind === 'mtls') this.security.files.close();
    await this.registry.close();
  }
}
