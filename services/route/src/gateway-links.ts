import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import { GatewayService, tiertalk, type PushBatch } from '@tiertalk/proto';
import type { InstanceInfo, Registry, ServiceWatch } from '@tiertalk/registry';
import { createClient, openClientStream } from '@tiertalk/rpc';
import type { PushSink } from './handlers/types';
import { purgeGatewaySessions } from './session-purge';
import type { SessionStore } from './session-store';

export interface GatewayLinksOptions {
  registry: Registry;
  store: SessionStore;
  logger: Logger;
  sweepIntervalMs: number;
  /** PushBatches queued per gateway while its stream is down or not draining; the oldest are dropped beyond it. */
  maxQueuedBatches?: number;
  /** etcd service name of the gateways. */
  service?: string;
}

const DEFAULT_MAX_QUEUED_BATCHES = 10_000;
const REOPEN_MIN_MS = 100;
const REOPEN_MAX_MS = 5_000;
// A stream that lived this long before failing was healthy: restart the backoff.
const HEALTHY_STREAM_MS = 10_000;
const CLOSE_WAIT_MS = 1_000;
const DROP_LOG_EVERY = 1_000;

/**
 * One Gateway.Push client stream per live gateway (docs/ARCHITECTURE.md, the
 * 1:1 message path, step 6), following etcd service `msg`. A gateway whose
 * key disappears is closed and its sessions purged, so a dead gateway leaves
 * no ghosts; a periodic sweep catches what an event missed.
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

  constructor(private readonly opts: GatewayLinksOptions) {
    this.log = opts.logger.child({ component: 'gateway-links' });
    this.maxQueued = opts.maxQueuedBatches ?? DEFAULT_MAX_QUEUED_BATCHES;
    this.service = opts.service ?? 'msg';
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

  send(sessionGatewayId: string, items: tiertalk.Push.$Properties[]): boolean {
    const link = this.linkFor(sessionGatewayId);
    if (!link || items.length === 0) return false;
    link.enqueue(tiertalk.PushBatch.create({ items }));
    return true;
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
    for (const link of this.links.values()) link.enqueue(tiertalk.PushBatch.create({ items: [], resyncSessions: true }));
    return this.liveGateways();
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

  /** Stops the sweep and the watch, ends every gateway stream. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
      const links = [...this.links.values()];
      this.links.clear();
      await Promise.all([this.watch?.close(), ...links.map((l) => l.close())]);
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
    // A new process under the same instance id: the old one's sessions are dead.
    if (previous !== undefined && epoch !== undefined && previous !== epoch) void this.purge(`${info.id}@${previous}`, 'etcd');
    const old = this.links.get(info.id);
    if (old && old.addr === info.addr) return;
    if (old) void old.close();
    this.suspects.delete(info.id);
    this.links.set(info.id, new GatewayLink(info.id, info.addr, this.maxQueued, this.log.child({ gatewayId: info.id, addr: info.addr })));
    this.log.info({ gatewayId: info.id, addr: info.addr }, old ? 'gateway moved' : 'gateway up');
  }

  private onRemoved(instanceId: string): void {
    const link = this.links.get(instanceId);
    this.links.delete(instanceId);
    this.epochs.delete(instanceId);
    if (link) void link.close();
    this.log.info({ gatewayId: instanceId }, 'gateway gone');
    if (!this.closing) void this.purgeInstance(instanceId);
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

/**
 * The Push stream to one gateway: opened on first use, reopened after an
 * error with backoff; honours write() returning false by queueing (bounded,
 * oldest dropped first: a lost live push is recovered by offline pull).
 */
class GatewayLink {
  private client: grpc.Client | undefined;
  private stream: grpc.ClientWritableStream<PushBatch> | undefined;
  private streamOpenedAt = 0;
  private streamDone: Promise<void> | undefined;
  private readonly queue = new BatchQueue();
  private waitingDrain = false;
  private reopenTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private closed = false;
  dropped = 0;

  constructor(
    readonly gatewayId: string,
    readonly addr: string,
    private readonly maxQueued: number,
    private readonly log: Logger,
  ) {}

  enqueue(batch: PushBatch): void {
    if (this.closed) return;
    this.queue.push(batch);
    if (this.queue.length > this.maxQueued) {
      this.queue.shift();
      this.dropped += 1;
      if (this.dropped % DROP_LOG_EVERY === 1) {
        this.log.warn({ dropped: this.dropped, queued: this.queue.length }, 'gateway push queue full; dropping oldest batches');
      }
    }
    this.flush();
  }

  close(): Promise<void> {
    if (this.closed) return this.streamDone ?? Promise.resolve();
    this.closed = true;
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const stream = this.stream;
    const done = this.streamDone ?? Promise.resolve();
    const client = this.client;
    this.queue.clear();
    if (stream) stream.end();
    // Give the gateway a moment to take what was written, then drop the channel.
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_WAIT_MS);
    });
    return Promise.race([done, waited]).then(() => {
      clearTimeout(timer);
      client?.close();
    });
  }

  private flush(): void {
    if (this.closed || this.waitingDrain || this.reopenTimer) return;
    while (this.queue.length > 0) {
      const stream = this.ensureStream();
      if (!stream) return;
      const batch = this.queue.shift();
      if (!batch) return;
      let accepted: boolean;
      try {
        accepted = stream.write(batch);
      } catch (err) {
        // Write after the call ended: treat as a failed stream; this batch is lost like any in-flight push.
        this.onStreamDone(stream, err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (!accepted) {
        this.waitingDrain = true;
        stream.once('drain', () => {
          if (this.stream !== stream) return;
          this.waitingDrain = false;
          this.flush();
        });
        return;
      }
    }
  }

  private ensureStream(): grpc.ClientWritableStream<PushBatch> | undefined {
    if (this.stream) return this.stream;
    try {
      this.client ??= createClient(this.addr);
      let resolveDone: () => void = () => undefined;
      this.streamDone = new Promise((resolve) => {
        resolveDone = resolve;
      });
      const stream = openClientStream(this.client, GatewayService.Push, (err) => {
        resolveDone();
        this.onStreamDone(stream, err);
      });
      this.stream = stream;
      this.streamOpenedAt = Date.now();
      return stream;
    } catch (err) {
      this.log.warn({ err }, 'cannot open push stream');
      this.scheduleReopen();
      return undefined;
    }
  }

  private onStreamDone(stream: grpc.ClientWritableStream<PushBatch>, err: Error | null | undefined): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.waitingDrain = false;
    if (this.closed) return;
    if (!err) {
      // The gateway ended the stream cleanly; the next push opens a new one.
      this.attempt = 0;
      this.flush();
      return;
    }
    if (Date.now() - this.streamOpenedAt >= HEALTHY_STREAM_MS) this.attempt = 0;
    this.log.warn({ err, attempt: this.attempt, queued: this.queue.length }, 'push stream failed');
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (this.closed || this.reopenTimer) return;
    const base = Math.min(REOPEN_MAX_MS, REOPEN_MIN_MS * 2 ** Math.min(this.attempt, 10));
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt += 1;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      this.flush();
    }, delay);
    this.reopenTimer.unref();
  }
}

/** FIFO with O(1) shift, so dropping the oldest of 10 000 batches stays cheap. */
class BatchQueue {
  private items: (PushBatch | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(b: PushBatch): void {
    this.items.push(b);
  }

  shift(): PushBatch | undefined {
    if (this.head >= this.items.length) return undefined;
    const b = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return b;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
