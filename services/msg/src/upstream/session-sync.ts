import type { Logger } from '@tiertalk/log';
import { RouteService, tiertalk } from '@tiertalk/proto';
import { ReconnectBackoff } from '@tiertalk/rpc';
import type { Connection } from '../conn/connection';
import type { ConnectionRegistry } from '../conn/connection-registry';
import type { RouteApi } from '../gateway-context';

/** Why a sync runs (logged). */
export type SyncReason = 'start' | 'route-resync' | 'lease-renewed' | 'periodic' | 'retry';

export interface SessionSyncOptions {
  /** `<instanceId>@<epoch>`, as in every SessionRef of this process. */
  gatewayId: string;
  connections: ConnectionRegistry;
  route: Pick<RouteApi, 'call' | 'logout'>;
  logger: Logger;
  /** Keep-alive period (TT_SESSION_SYNC_INTERVAL_MS). */
  intervalMs: number;
}

// A failed sync is tried again after these jittered delays until one succeeds.
const RETRY_INITIAL_MS = 100;
const RETRY_MAX_MS = 5_000;

/**
 * Keeps route's session registry equal to this gateway's connections
 * (docs/ARCHITECTURE.md, "Session registry"): Route.SyncSessions with every
 * session this process holds, when route lost its registry and asks
 * (PushBatch.resync_sessions), when our etcd registration was re-created after
 * a lease lapse (route purged us meanwhile), and every intervalMs as the
 * sessions' keep-alive, which also clears ghosts a failed Logout left. Syncs
 * never overlap; requests during one run one more sync after it.
 */
export class SessionSync {
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private pending: SyncReason | undefined;
  private closed = false;
  private readonly backoff = new ReconnectBackoff({ initialMs: RETRY_INITIAL_MS, maxMs: RETRY_MAX_MS });
  private readonly log: Logger;

  constructor(private readonly opts: SessionSyncOptions) {
    this.log = opts.logger.child({ component: 'session-sync' });
  }

  /**
   * Syncs once now (marking this gateway seen and synced in route's current
   * epoch, so a later purge-and-restore is announced), then every intervalMs.
   */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.request('periodic'), this.opts.intervalMs);
    this.timer.unref();
    this.request('start');
  }

  /** Runs a sync now, or right after the one in progress. */
  request(reason: SyncReason): void {
    if (this.closed) return;
    if (this.running) {
      this.pending ??= reason;
      return;
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.running = this.run(reason).finally(() => {
      this.running = undefined;
      const next = this.pending;
      this.pending = undefined;
      if (next !== undefined) this.request(next);
    });
  }

  /** Resolves when no sync is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.timer = undefined;
    this.retryTimer = undefined;
  }

  private async run(reason: SyncReason): Promise<void> {
    const listed = this.liveSessions();
    const sessions = listed.map((c) => this.ref(c));
    let rsp: tiertalk.SessionSyncRsp;
    try {
      rsp = await this.opts.route.call(RouteService.SyncSessions, tiertalk.SessionSync.create({ gatewayId: this.opts.gatewayId, sessions }));
    } catch (err) {
      if (this.closed) return;
      const delay = this.backoff.next();
      this.log.warn({ err, reason, sessions: sessions.length, retryInMs: delay }, 'session sync failed');
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.request('retry');
      }, delay);
      this.retryTimer.unref();
      return;
    }
    this.backoff.reset();
    // A connection that closed while the sync was on its way may have had its
    // Logout overtaken by the sync (which registered it again): log it out once more.
    let relogouts = 0;
    for (const conn of listed) {
      if (!conn.isClosed) continue;
      relogouts += 1;
      this.opts.route.logout(this.ref(conn)).catch((err: unknown) => conn.log.debug({ err }, 'route logout after sync failed; the next sync removes it'));
    }
    const level = reason === 'periodic' && rsp.added === 0 && rsp.removed === 0 ? 'debug' : 'info';
    this.log[level]({ reason, sessions: sessions.length, added: rsp.added, removed: rsp.removed, relogouts }, 'sessions synced with route');
  }

  /**
   * Every connection bound to a user and not closed: logged in, or logging in
   * (its route Login may already have registered it).
   */
  private liveSessions(): Connection[] {
    const out: Connection[] = [];
    for (const conn of this.opts.connections.all()) if (conn.userId > 0 && !conn.isClosed) out.push(conn);
    return out;
  }

  private ref(conn: Connection): tiertalk.SessionRef.$Properties {
    return { gatewayId: this.opts.gatewayId, connId: conn.id, userId: conn.userId, clientType: conn.clientType };
  }
}
