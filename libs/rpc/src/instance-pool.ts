import { EventEmitter } from 'node:events';
import type { Logger } from '@tiertalk/log';
import { isLeaving } from '@tiertalk/registry';
import type { InstanceInfo, ServiceWatch } from '@tiertalk/registry';
import * as grpc from '@grpc/grpc-js';
import { createClient } from './channel';
import type { RpcSecurity } from './security';
import { rendezvousPick } from './rendezvous';

export interface PoolPick {
  id: string;
  client: grpc.Client;
  info: InstanceInfo;
}

export interface InstancePoolOptions {
  logger: Logger;
  /**
   * How long a failed instance is left out of picks unless it is seen back in
   * etcd first. Keep it at or below the callers' reconnect backoff: the pool
   * must not keep an instance out longer than failure detection warrants.
   * Default 1000 ms.
   */
  failCooldownMs?: number;
  /** How clients connect: with mTLS each instance must prove it is the watched service. */
  security: RpcSecurity;
  /** Builds the client of one instance; createClient by default. */
  clientFactory?: (addr: string) => grpc.Client;
}

export interface InstancePoolEvents {
  /**
   * An instance to try at once: new in etcd, or seen back (re-added after a
   * removal, registered again by a restarted process, moved to a new address).
   * Its client is fresh and it is no longer marked failed or draining.
   */
  added: [info: InstanceInfo];
  removed: [id: string];
}

interface Entry {
  info: InstanceInfo;
  client: grpc.Client;
  /** Epoch ms until which the instance is skipped; 0 when healthy. */
  failedUntil: number;
  draining: boolean;
}

/**
 * One gRPC client per live instance of a service, following a ServiceWatch,
 * with round-robin picks (pick) and consistent-hash picks (pickByKey) that
 * skip draining instances and failed ones until they are seen back or a short
 * cooldown ends. An instance seen back gets a fresh client: the old channel
 * would keep its own reconnect backoff (seconds) towards the new process.
 * The watch stays owned by the caller.
 */
export class InstancePool extends EventEmitter<InstancePoolEvents> {
  readonly service: string;
  private readonly entries = new Map<string, Entry>();
  /** Live ids, sorted, for a stable round-robin order. */
  private ids: string[] = [];
  private cursor = 0;
  private readonly cooldownMs: number;
  private readonly makeClient: (addr: string) => grpc.Client;
  private readonly log: Logger;
  private closed = false;

  private readonly onAdded = (info: InstanceInfo): void => this.upsert(info);
  private readonly onUpdated = (info: InstanceInfo): void => this.upsert(info);
  private readonly onRemoved = (id: string): void => this.remove(id);
  private readonly onReregistered = (info: InstanceInfo): void => this.seenBack(info);

  constructor(
    private readonly watch: ServiceWatch,
    opts: InstancePoolOptions,
  ) {
    super();
    this.service = watch.service;
    this.cooldownMs = opts.failCooldownMs ?? 1000;
    this.makeClient = opts.clientFactory ?? ((addr) => createClient(addr, opts.security, watch.service));
    this.log = opts.logger.child({ pool: watch.service });
    for (const info of watch.list()) this.upsert(info);
    watch.on('added', this.onAdded);
    watch.on('updated', this.onUpdated);
    watch.on('removed', this.onRemoved);
    watch.on('reregistered', this.onReregistered);
  }

  /** Live instances, draining ones included. */
  get size(): number {
    return this.entries.size;
  }

  /** The client of one instance, e.g. to reach the gateway holding a user. */
  get(id: string): PoolPick | undefined {
    const e = this.entries.get(id);
    return e ? { id, client: e.client, info: e.info } : undefined;
  }

  /**
   * Next instance round-robin, skipping `exclude`, draining and cooling-down
   * ones. When every candidate is cooling down one is returned anyway: a
   * possibly-recovered instance beats a certain failure.
   */
  pick(exclude?: ReadonlySet<string>): PoolPick | undefined {
    const now = Date.now();
    const candidates: string[] = [];
    const healthy: string[] = [];
    for (const id of this.ids) {
      const e = this.entries.get(id);
      if (!e || e.draining || exclude?.has(id)) continue;
      candidates.push(id);
      if (e.failedUntil <= now) healthy.push(id);
    }
    const from = healthy.length > 0 ? healthy : candidates;
    if (from.length === 0) return undefined;
    this.cursor = (this.cursor + 1) % Number.MAX_SAFE_INTEGER;
    return this.get(from[this.cursor % from.length]);
  }

  /**
   * The instance for `key` by rendezvous hashing over the live, non-draining,
   * non-failed instances not in `exclude`: every caller maps a key to the same
   * instance, the key moves to a survivor as soon as its instance fails or
   * leaves, and back when it returns. Undefined when no instance qualifies
   * (no fail-open: the caller waits for one rather than hammer a failed one).
   */
  pickByKey(key: string, exclude?: ReadonlySet<string>): PoolPick | undefined {
    const now = Date.now();
    const usable = this.ids.filter((id) => {
      const e = this.entries.get(id);
      return e !== undefined && !e.draining && e.failedUntil <= now && !exclude?.has(id);
    });
    const id = rendezvousPick(key, usable);
    return id === undefined ? undefined : this.get(id);
  }

  /** Ms until the soonest failed (and not draining) instance's cooldown ends; undefined when none is cooling down. */
  nextRecoveryInMs(): number | undefined {
    const now = Date.now();
    let soonest: number | undefined;
    for (const e of this.entries.values()) {
      if (e.draining || e.failedUntil <= now) continue;
      const left = e.failedUntil - now;
      if (soonest === undefined || left < soonest) soonest = left;
    }
    return soonest;
  }

  /** True while the instance is left out of picks after a failure. */
  isFailed(id: string): boolean {
    const e = this.entries.get(id);
    return e !== undefined && e.failedUntil > Date.now();
  }

  /** Leaves the instance out of picks for the cooldown, or until it is seen back in etcd. */
  markFailed(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.failedUntil = Date.now() + this.cooldownMs;
    this.log.warn({ id, addr: e.info.addr, cooldownMs: this.cooldownMs }, 'instance failed; cooling down');
  }

  /** The instance stops taking work: no more picks until etcd removes it or it is re-added. */
  markDraining(id: string): void {
    const e = this.entries.get(id);
    if (!e || e.draining) return;
    e.draining = true;
    this.log.info({ id }, 'instance draining');
  }

  /** Stops following the watch and closes every client. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch.off('added', this.onAdded);
    this.watch.off('updated', this.onUpdated);
    this.watch.off('removed', this.onRemoved);
    this.watch.off('reregistered', this.onReregistered);
    for (const e of this.entries.values()) e.client.close();
    this.entries.clear();
    this.ids = [];
  }

  private upsert(info: InstanceInfo): void {
    if (this.closed) return;
    const old = this.entries.get(info.id);
    if (old && old.info.addr === info.addr) {
      old.info = info;
      // About to deregister on purpose (graceful stop): no new work from now on.
      if (isLeaving(info)) old.draining = true;
      return;
    }
    if (old) {
      // Same id, new address (restart on another port): the old channel is useless.
      old.client.close();
      this.log.info({ id: info.id, from: old.info.addr, to: info.addr }, 'instance moved');
    }
    this.entries.set(info.id, { info, client: this.makeClient(info.addr), failedUntil: 0, draining: false });
    if (!old) this.ids = [...this.entries.keys()].sort();
    this.emit('added', info);
  }

  /**
   * Registered again under a new lease, same address: a restarted process, or
   * the same one after its lease lapsed. Its failure and drain marks end; the
   * client is replaced unless it is connected (then it already talks to the
   * live process and its streams are left alone).
   */
  private seenBack(info: InstanceInfo): void {
    const e = this.entries.get(info.id);
    if (this.closed || !e) return;
    e.info = info;
    e.failedUntil = 0;
    e.draining = false;
    if (e.client.getChannel().getConnectivityState(false) !== grpc.connectivityState.READY) {
      e.client.close();
      e.client = this.makeClient(info.addr);
      this.log.info({ id: info.id, addr: info.addr }, 'instance registered again; fresh client');
    } else {
      this.log.info({ id: info.id, addr: info.addr }, 'instance registered again; its connection is up');
    }
    this.emit('added', info);
  }

  private remove(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    e.client.close();
    this.entries.delete(id);
    this.ids = this.ids.filter((x) => x !== id);
    this.emit('removed', id);
  }
}
