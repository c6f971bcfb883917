import { EventEmitter } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import type { InstanceInfo, ServiceWatch } from '@tiertalk/registry';
import { createClient } from './channel';

export interface PoolPick {
  id: string;
  client: grpc.Client;
  info: InstanceInfo;
}

export interface InstancePoolOptions {
  logger: Logger;
  /** How long a failed instance is left out of picks. Default 2000 ms. */
  failCooldownMs?: number;
  /** Builds the client of one instance; createClient by default. */
  clientFactory?: (addr: string) => grpc.Client;
}

export interface InstancePoolEvents {
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
 * with round-robin picks that skip failed (for a cooldown) and draining
 * instances. The watch stays owned by the caller.
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

  constructor(
    private readonly watch: ServiceWatch,
    opts: InstancePoolOptions,
  ) {
    super();
    this.service = watch.service;
    this.cooldownMs = opts.failCooldownMs ?? 2000;
    this.makeClient = opts.clientFactory ?? createClient;
    this.log = opts.logger.child({ pool: watch.service });
    for (const info of watch.list()) this.upsert(info);
    watch.on('added', this.onAdded);
    watch.on('updated', this.onUpdated);
    watch.on('removed', this.onRemoved);
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

  /** Leaves the instance out of picks for the cooldown (or until etcd removes it). */
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
    for (const e of this.entries.values()) e.client.close();
    this.entries.clear();
    this.ids = [];
  }

  private upsert(info: InstanceInfo): void {
    if (this.closed) return;
    const old = this.entries.get(info.id);
    if (old && old.info.addr === info.addr) {
      old.info = info;
      return;
    }
    if (old) {
      // Same id, new address (restart on another port): the old channel is useless.
      old.client.close();
      this.log.info({ id: info.id, from: old.info.addr, to: info.addr }, 'instance moved');
    }
    this.entries.set(info.id, { info, client: this.makeClient(info.addr), failedUntil: 0, draining: false });
    if (!old) {
      this.ids = [...this.entries.keys()].sort();
      this.emit('added', info);
    }
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
