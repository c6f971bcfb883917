import type { Logger } from '@tiertalk/log';
import { tiertalk } from '@tiertalk/proto';
import type { InstanceInfo, Registry, ServiceWatch } from '@tiertalk/registry';
import { createClient, type RpcSecurity } from '@tiertalk/rpc';
import { GatewayLink } from './gateway-link';
import type { PresenceOrigin, PushSink, PushWaiter } from './handlers/types';
import { PendingPresence } from './pending-presence';
import { purgeGatewaySessions } from './session-purge';
import type { SessionStore } from './session-store';
import { countPresenceChange, countPushes, forgetGateway } from './route-metrics';

export interface GatewayLinksOptions {
  registry: Registry;
  store: SessionStore;
  logger: Logger;
  /** How Push streams connect (mTLS: only a certificate naming the gateway service is accepted). */
  security: RpcSecurity;
  sweepIntervalMs: number;
  /**
   * PushBatches kept per gateway until it acknowledges them; the oldest are
   * dropped beyond it (a gateway in etcd that stopped reading).
   */
  maxQueuedBatches?: number;
  /** etcd service name of the gateways. */
  service?: string;
  /**
   * Desktop presence changes are gathered this long into one push per
   * gateway (docs/FLOWS.md §5); 0 sends each change at once.
   */
  presenceCoalesceMs?: number;
}

const DEFAULT_MAX_QUEUED_BATCHES = 10_000;
const DEFAULT_PRESENCE_COALESCE_MS = 50;

/**
 * One Gateway.Push stream per live gateway (docs/ARCHITECTURE.md, the 1:1
 * message path, step 6), following etcd service `msg`; each keeps its
 * batches until the gateway acknowledges them (gateway-link.ts). A gateway
 * whose key disappears is closed, its unacknowledged batches settled and its
 * sessions purged, so a dead gateway leaves no ghosts and holds up no
 * delivery report; a periodic sweep catches what an event missed.
 */
export class GatewayLinks implements PushSink {
  private watch: ServiceWatch | undefined;
  private readonly links = new Map<string, GatewayLink>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  // Ids seen dead by the previous sweep: purge only on the second sighting,
  // so a gateway whose etcd key we have not seen yet keeps its first logins.
  private suspects = new Set<string>();
  /** instance id → epoch of the live process (from its etcd meta). */
  private readonly epochs = new Map<string, string>();
  private closing: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly maxQueued: number;
  private readonly service: string;
  /** Presence changes not yet sent, per link (pending-presence.ts). */
  private readonly presence = new Map<GatewayLink, PendingPresence>();
  private readonly presenceCoalesceMs: number;
  private presenceTimer: NodeJS.Timeout | undefined;
  /** Instance ids of gateways whose etcd meta says they apply presence lists (`presenceLists: 1`). */
  private readonly presenceLists = new Set<string>();

  constructor(private readonly opts: GatewayLinksOptions) {
    this.log = opts.logger.child({ component: 'gateway-links' });
    this.maxQueued = opts.maxQueuedBatches ?? DEFAULT_MAX_QUEUED_BATCHES;
    this.service = opts.service ?? 'msg';
    this.presenceCoalesceMs = opts.presenceCoalesceMs ?? DEFAULT_PRESENCE_COALESCE_MS;
  }

  /** Loads the live gateways and starts following them; rejects when etcd cannot be read. */
  async start(): Promise<void> {
    const watch = await this.opts.registry.watch(this.service);
    await watch.ready;
    this.watch = watch;
    watch.on('added', (info) => this.upsert(info));
    watch.on('updated', (info) => this.upsert(info));
    watch.on('removed', (id) => this.onRemoved(id));
    for (const info of watch.list()) this.upsert(info);
    this.sweepTimer = setInterval(() => void this.sweep(), this.opts.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /**
   * Sessions name their gateway `<instanceId>@<epoch>` (one epoch per gateway
   * process, published in its etcd meta): such a session is live only while
   * that very process is registered. A bare instance id (no epoch) matches any.
   */
  isLive(sessionGatewayId: string): boolean {
    return this.linkFor(sessionGatewayId) !== undefined;
  }

  send(sessionGatewayId: string, items: tiertalk.Push.$Properties[], waiter?: PushWaiter): boolean {
    const link = this.linkFor(sessionGatewayId);
    if (!link || items.length === 0) return false;
    // Presence gathered so far goes first: coalescing never reorders it against other pushes.
    this.flushPresence(link);
    link.enqueue(tiertalk.PushBatch.create({ items }), waiter);
    countPushes(link.gatewayId, items.length);
    return true;
  }

  /**
   * docs/FLOWS.md §5: `status` of `userId` for every desktop connection on
   * every live gateway except `origin` (the logging-in connection). Gathered
   * for presenceCoalesceMs, then one push per gateway lists every user's
   * latest status. Returns the gateways it is queued for.
   */
  notifyPcStatus(userId: number, status: number, origin?: PresenceOrigin): number {
    if (this.closing) return 0;
    const originLink = origin ? this.linkFor(origin.gatewayId) : undefined;
    let replaced = false;
    for (const link of this.links.values()) {
      let pending = this.presence.get(link);
      if (!pending) this.presence.set(link, (pending = new PendingPresence()));
      if (pending.add(userId, status, link === originLink ? origin?.connId : undefined)) replaced = true;
    }
    countPresenceChange(replaced);
    if (this.presenceCoalesceMs === 0) this.flushAllPresence();
    else this.presenceTimer ??= setTimeout(() => this.flushAllPresence(), this.presenceCoalesceMs);
    return this.links.size;
  }

  private flushAllPresence(): void {
    clearTimeout(this.presenceTimer);
    this.presenceTimer = undefined;
    for (const link of this.presence.keys()) this.flushPresence(link);
  }

  private flushPresence(link: GatewayLink): void {
    const pushes = this.presence.get(link)?.take(this.presenceLists.has(link.gatewayId)) ?? [];
    if (pushes.length === 0) return;
    link.enqueue(tiertalk.PushBatch.create({ items: pushes }), undefined);
    countPushes(link.gatewayId, pushes.length);
  }

  /** PushBatches not yet acknowledged, per gateway instance id (tt_route_push_batches_unacked). */
  *unackedByGateway(): IterableIterator<readonly [string, number]> {
    for (const [id, link] of this.links) yield [id, link.unacknowledged];
  }

  liveGateways(): string[] {
    const out: string[] = [];
    for (const id of this.links.keys()) {
      const epoch = this.epochs.get(id);
      out.push(epoch === undefined ? id : `${id}@${epoch}`);
    }
    return out;
  }

  /** Asks every live gateway to list its sessions (Route.SyncSessions); returns their session gateway ids. */
  requestSessionResync(): string[] {
    for (const link of this.links.values()) link.enqueue(tiertalk.PushBatch.create({ items: [], resyncSessions: true }), undefined);
    return this.liveGateways();
  }

  /** PushBatches not yet acknowledged by their gateway, over every gateway. */
  unacknowledgedBatches(): number {
    let n = 0;
    for (const link of this.links.values()) n += link.unacknowledged;
    return n;
  }

  /** Batches dropped so far because a gateway's queue was full. */
  droppedBatches(): number {
    let n = 0;
    for (const link of this.links.values()) n += link.dropped;
    return n;
  }

  /**
   * Purges every gateway in the registry's `gateways` set that is not live in
   * etcd for two sweeps in a row. Returns the ids purged. Never rejects.
   */
  async sweep(): Promise<string[]> {
    const watch = this.watch;
    if (!watch || this.closing || this.sweeping) return [];
    this.sweeping = true;
    try {
      const ids = await this.opts.store.gatewayIds();
      const dead = ids.filter((id) => watch.get(instanceOf(id)) === undefined || !this.isLive(id));
      const confirmed = dead.filter((id) => this.suspects.has(id));
      this.suspects = new Set(dead.filter((id) => !confirmed.includes(id)));
      for (const id of confirmed) await this.purge(id, 'sweep');
      return confirmed;
    } catch (err) {
      this.log.warn({ err }, 'session sweep failed');
      return [];
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Stops the sweep and the watch, ends every gateway stream. Idempotent.
   * Unacknowledged pushes stay unsettled: the Deliver batches waiting for
   * them are not reported, so their gateways send them to another route.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
      // What was gathered still goes out before the streams end.
      this.flushAllPresence();
      this.presence.clear();
      const links = [...this.links.values()];
      this.links.clear();
      await Promise.all([this.watch?.close(), ...links.map((l) => l.close(false))]);
    })();
    return this.closing;
  }

  private linkFor(sessionGatewayId: string): GatewayLink | undefined {
    const instance = instanceOf(sessionGatewayId);
    const link = this.links.get(instance);
    if (link === undefined) return undefined;
    const epoch = epochOf(sessionGatewayId);
    const live = this.epochs.get(instance);
    return epoch !== undefined && live !== undefined && epoch !== live ? undefined : link;
  }

  private upsert(info: InstanceInfo): void {
    if (this.closing) return;
    const epoch = typeof info.meta.epoch === 'string' ? info.meta.epoch : undefined;
    const previous = this.epochs.get(info.id);
    if (epoch !== undefined) this.epochs.set(info.id, epoch);
    if (info.meta.presenceLists === 1) this.presenceLists.add(info.id);
    else this.presenceLists.delete(info.id);
    const old = this.links.get(info.id);
    // A new process under the same instance id: the old one's sessions and connections are dead.
    if (previous !== undefined && epoch !== undefined && previous !== epoch) {
      void this.purge(`${info.id}@${previous}`, 'etcd');
      old?.abandonQueued();
      // Its exclusions name the old process's connection ids.
      if (old) this.presence.get(old)?.clear();
    }
    if (old && old.addr === info.addr) {
      old.retryNow();
      return;
    }
    if (old) this.dropLink(old);
    this.suspects.delete(info.id);
    this.links.set(info.id, new GatewayLink(info.id, info.addr, this.maxQueued, this.log.child({ gatewayId: info.id, addr: info.addr }), (addr) => createClient(addr, this.opts.security, this.service)));
    this.log.info({ gatewayId: info.id, addr: info.addr }, old ? 'gateway moved' : 'gateway up');
  }

  private onRemoved(instanceId: string): void {
    const link = this.links.get(instanceId);
    this.links.delete(instanceId);
    this.epochs.delete(instanceId);
    this.presenceLists.delete(instanceId);
    // Its clients reconnect elsewhere and pull what they missed: nothing waits for this gateway any more.
    if (link) this.dropLink(link);
    forgetGateway(instanceId);
    this.log.info({ gatewayId: instanceId }, 'gateway gone');
    if (!this.closing) void this.purgeInstance(instanceId);
  }

  /** The gateway process is gone: what it did not acknowledge and the presence gathered for it are dropped. */
  private dropLink(link: GatewayLink): void {
    this.presence.delete(link);
    void link.close(true);
  }

  /** Purges every session gateway id of that instance, whatever its epoch. */
  private async purgeInstance(instanceId: string): Promise<void> {
    let ids: string[];
    try {
      ids = await this.opts.store.gatewayIds();
    } catch (err) {
      this.log.warn({ err, gatewayId: instanceId }, 'gateway purge failed; the sweep will retry');
      return;
    }
    for (const id of ids) if (instanceOf(id) === instanceId) await this.purge(id, 'etcd');
  }

  private async purge(gatewayId: string, reason: 'etcd' | 'sweep'): Promise<void> {
    // Announces the users who went offline with it; the sweep retries a failed purge.
    await purgeGatewaySessions(this.opts.store, this, gatewayId, reason, this.log);
  }
}

function instanceOf(sessionGatewayId: string): string {
  const at = sessionGatewayId.indexOf('@');
  return at < 0 ? sessionGatewayId : sessionGatewayId.slice(0, at);
}

function epochOf(sessionGatewayId: string): string | undefined {
  const at = sessionGatewayId.indexOf('@');
  return at < 0 ? undefined : sessionGatewayId.slice(at + 1);
}
