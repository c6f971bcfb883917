import type { Logger } from '@tiertalk/log';
import { presenceOnDepartures } from './handlers/session/presence';
import type { PushSink } from './handlers/types';
import type { SessionStore } from './session-store';

export type PurgeReason = 'etcd' | 'sweep' | 'unseen';

/**
 * Removes every session of a dead gateway and announces its users OFFLINE as
 * their logouts would (docs/FLOWS.md §5). The purge script decides who announces:
 * only the route instance that actually removed a session reports it. Never
 * rejects; a failed purge is retried by the sweeps (the id stays in the
 * gateways set until a purge succeeds).
 */
export async function purgeGatewaySessions(store: SessionStore, links: PushSink, gatewayId: string, reason: PurgeReason, log: Logger): Promise<number> {
  try {
    const { removed, departures } = await store.purgeGateway(gatewayId);
    const pushes = presenceOnDepartures(links, departures);
    log.info({ gatewayId, removed, reason, presencePushes: pushes }, 'gateway sessions purged');
    return removed;
  } catch (err) {
    log.warn({ err, gatewayId, reason }, 'gateway purge failed');
    return 0;
  }
}

export interface UnseenGatewaySweepOptions {
  store: SessionStore;
  links: PushSink;
  logger: Logger;
  intervalMs: number;
}

/**
 * Session expiry: every gateway refreshes its seen mark (`gwseen`, TTL 3 sync
 * intervals) by its periodic SyncSessions and by logins. A gateway in the
 * registry whose mark expired, seen so on two sweeps in a row, is purged even
 * when etcd still lists it or its removal event was missed, so a dead
 * gateway's sessions never live forever.
 */
export class UnseenGatewaySweep {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private suspects = new Set<string>();
  private readonly log: Logger;

  constructor(private readonly opts: UnseenGatewaySweepOptions) {
    this.log = opts.logger.child({ component: 'unseen-gateway-sweep' });
  }

  start(): void {
    this.timer ??= setInterval(() => void this.sweep(), this.opts.intervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass; returns the gateway ids purged. Never rejects. */
  async sweep(): Promise<string[]> {
    if (this.running) return [];
    this.running = true;
    try {
      const unseen = await this.opts.store.unseenGateways(await this.opts.store.gatewayIds());
      const confirmed = unseen.filter((id) => this.suspects.has(id));
      this.suspects = new Set(unseen.filter((id) => !this.suspects.has(id)));
      for (const id of confirmed) await purgeGatewaySessions(this.opts.store, this.opts.links, id, 'unseen', this.log);
      return confirmed;
    } catch (err) {
      this.log.warn({ err }, 'unseen gateway sweep failed');
      return [];
    } finally {
      this.running = false;
    }
  }
}
