import type { RedisClient } from '@tiertalk/redis';
import type { Logger } from '@tiertalk/log';
import { ReconnectBackoff } from '@tiertalk/rpc';
import type { PushStream, QueuedPush, StreamEntry } from './push-stream';

/** A queued push handed to the notifier; `done()` once it was posted or finally given up (never on shutdown). */
export interface HeldPush extends QueuedPush {
  streamId: string;
  done(): void;
}

/** Where read entries go: OfflinePushNotifier.take. */
export interface HeldPushSink {
  take(pushes: HeldPush[]): void;
}

export interface PushStreamConsumerOptions {
  stream: PushStream;
  /** A connection of its own: XREADGROUP BLOCK holds it. */
  reader: RedisClient;
  sink: HeldPushSink;
  /** Consumer name in the group: the route instance id. */
  consumer: string;
  /** Entries held (read, not yet acknowledged) at once. */
  holdMax: number;
  /** An entry pending this long without its consumer touching it is claimed by another. */
  claimIdleMs: number;
  logger: Logger;
}

export interface PushStreamConsumerStats {
  read: number;
  /** Taken over from another (dead or stalled) consumer, or from a previous life of this one. */
  claimed: number;
  acked: number;
  /** Pending entries found trimmed when claimed (lost to TT_PUSH_QUEUE_MAX). */
  trimmedPending: number;
  errors: number;
}

/** Longest XREADGROUP BLOCK; close() interrupts it anyway. */
const READ_BLOCK_MS = 5000;
/** Consumers holding nothing and unseen this many claim-idle periods are removed from the group. */
const PRUNE_IDLE_FACTOR = 20;
const PRUNE_EVERY_MS = 60_000;
/** Ids per XCLAIM JUSTID / XACK call. */
const IDS_PER_CALL = 500;

/**
 * Reads the offline-push stream as one consumer of the group and hands the
 * entries to the notifier, at most `holdMax` at a time. Each entry stays
 * pending in Redis until the notifier is done with it; then it is XACKed and
 * XDELed. While held (waiting for tokens, a POST or a retry) its idle time is
 * reset every claimIdleMs/4, so only the entries of a consumer that stopped
 * (killed route) become claimable; those are taken over with XAUTOCLAIM.
 * A restarted route with the same instance id first re-reads its own pending entries.
 */
export class PushStreamConsumer {
  private readonly log: Logger;
  private readonly held = new Set<string>();
  private acks: string[] = [];
  private ackScheduled: NodeJS.Immediate | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private acking: Promise<void> | undefined;
  private readonly ackBackoff = new ReconnectBackoff({ initialMs: 100, maxMs: 5000 });
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeating = false;
  private claimTimer: NodeJS.Timeout | undefined;
  private claiming = false;
  private nextPruneAt = 0;
  /** Wakes the read loop: a slot was freed, or close(). */
  private wakeReader: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private closed = false;
  readonly stats: PushStreamConsumerStats = { read: 0, claimed: 0, acked: 0, trimmedPending: 0, errors: 0 };

  constructor(private readonly opts: PushStreamConsumerOptions) {
    this.log = opts.logger.child({ component: 'offline-push-stream', consumer: opts.consumer });
  }

  /** Entries read and not yet acknowledged. */
  get holding(): number {
    return this.held.size;
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.readLoop();
    // Separate timers: a long takeover must never delay the heartbeat of what we hold.
    this.heartbeatTimer = setInterval(() => this.heartbeat(), Math.max(20, Math.floor(this.opts.claimIdleMs / 4)));
    this.claimTimer = setInterval(() => this.sweep(), Math.max(50, Math.floor(this.opts.claimIdleMs / 2)));
  }

  /**
   * Stops reading. Acknowledgements of finished entries are flushed (one
   * attempt); entries still held stay pending (start-offline-push.ts hands
   * them over, or another consumer claims them).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.claimTimer);
    clearTimeout(this.ackTimer);
    clearImmediate(this.ackScheduled);
    this.wakeReader?.();
    // Interrupts a blocked XREADGROUP.
    this.opts.reader.disconnect();
    await this.loop;
    await this.acking;
    await this.flushAcks().catch((err: unknown) => this.log.warn({ err, ids: this.acks.length }, 'offline-push acks not flushed at close'));
    this.held.clear();
  }

  private async readLoop(): Promise<void> {
    const backoff = new ReconnectBackoff({ initialMs: 100, maxMs: 5000 });
    let ownCursor: string | undefined = '0';
    let groupReady = false;
    while (!this.closed) {
      try {
        if (!groupReady) {
          await this.opts.stream.ensureGroup();
          groupReady = true;
          await this.claimStale();
        }
        const room = this.opts.holdMax - this.held.size;
        if (room <= 0) {
          await this.pause();
          continue;
        }
        if (ownCursor !== undefined) {
          // Our own pending entries from before a restart under the same name.
          const own = await this.opts.stream.read(this.opts.reader, this.opts.consumer, room, ownCursor);
          ownCursor = own.length > 0 ? own[own.length - 1].id : undefined;
          this.hand(own, true);
        } else {
          const fresh = await this.opts.stream.read(this.opts.reader, this.opts.consumer, room, '>', READ_BLOCK_MS);
          this.hand(fresh, false);
        }
        backoff.reset();
      } catch (err) {
        if (this.closed) break;
        this.stats.errors += 1;
        if (err instanceof Error && err.message.startsWith('NOGROUP')) {
          // Redis lost the stream or group (restart): create it again at once.
          groupReady = false;
          this.log.warn('offline-push stream group missing: recreating it');
          continue;
        }
        const delay = backoff.next();
        this.log.warn({ err, retryInMs: delay }, 'offline-push stream read failed');
        await this.pause(delay);
      }
    }
  }

  /** Until wakeReader() (or `ms`, when given). */
  private async pause(ms?: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.wakeReader = resolve;
      if (ms !== undefined) timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.wakeReader = undefined;
  }

  /** Resets the idle time of every held entry, so no live instance's work is claimed. */
  private heartbeat(): void {
    if (this.heartbeating || this.closed || this.held.size === 0) return;
    this.heartbeating = true;
    this.touchHeld()
      .catch((err: unknown) => {
        this.stats.errors += 1;
        this.log.warn({ err }, 'offline-push heartbeat failed');
      })
      .finally(() => (this.heartbeating = false));
  }

  private async touchHeld(): Promise<void> {
    const ids = [...this.held];
    for (let i = 0; i < ids.length && !this.closed; i += IDS_PER_CALL) {
      await this.opts.stream.touch(this.opts.consumer, ids.slice(i, i + IDS_PER_CALL));
    }
  }

  /** Takeover of stale entries, and now and then the removal of consumers gone for good. */
  private sweep(): void {
    if (this.claiming || this.closed) return;
    this.claiming = true;
    this.sweepOnce()
      .catch((err: unknown) => {
        this.stats.errors += 1;
        this.log.warn({ err }, 'offline-push takeover failed');
      })
      .finally(() => (this.claiming = false));
  }

  private async sweepOnce(): Promise<void> {
    await this.claimStale();
    if (Date.now() >= this.nextPruneAt && !this.closed) {
      this.nextPruneAt = Date.now() + PRUNE_EVERY_MS;
      const pruned = await this.opts.stream.pruneConsumers(this.opts.consumer, this.opts.claimIdleMs * PRUNE_IDLE_FACTOR);
      if (pruned > 0) this.log.info({ pruned }, 'removed offline-push consumers gone for good');
    }
  }

  /** XAUTOCLAIM pages while there is room. */
  private async claimStale(): Promise<void> {
    let cursor = '0-0';
    do {
      const room = this.opts.holdMax - this.held.size;
      if (room <= 0 || this.closed) return;
      const page = await this.opts.stream.claim(this.opts.consumer, this.opts.claimIdleMs, cursor, room);
      cursor = page.cursor;
      if (page.deleted > 0) {
        this.stats.trimmedPending += page.deleted;
        this.log.warn({ lost: page.deleted }, 'pending offline pushes were trimmed before delivery (TT_PUSH_QUEUE_MAX)');
      }
      this.hand(page.entries, true);
    } while (cursor !== '0-0');
  }

  private hand(entries: readonly StreamEntry[], claimed: boolean): void {
    const pushes: HeldPush[] = [];
    for (const { id, push } of entries) {
      if (this.held.has(id)) continue;
      if (this.closed) return;
      if (claimed) this.stats.claimed += 1;
      else this.stats.read += 1;
      this.held.add(id);
      if (push === undefined) {
        // Trimmed or unreadable: nothing to post, only to acknowledge.
        this.settle(id);
        continue;
      }
      pushes.push({ ...push, streamId: id, done: () => this.settle(id) });
    }
    if (claimed && pushes.length > 0) this.log.info({ entries: pushes.length }, 'took over pending offline pushes');
    if (pushes.length > 0) this.opts.sink.take(pushes);
  }

  private settle(id: string): void {
    if (!this.held.delete(id) || this.closed) return;
    this.acks.push(id);
    if (this.ackTimer === undefined) this.ackScheduled ??= setImmediate(() => this.startAck());
    if (this.held.size < this.opts.holdMax) this.wakeReader?.();
  }

  private startAck(): void {
    this.ackScheduled = undefined;
    if (this.acking || this.closed) return;
    this.acking = this.flushAcks()
      .then(() => this.ackBackoff.reset())
      .catch((err: unknown) => {
        this.stats.errors += 1;
        const delay = this.ackBackoff.next();
        this.log.warn({ err, ids: this.acks.length, retryInMs: delay }, 'offline-push ack failed');
        this.ackTimer = setTimeout(() => {
          this.ackTimer = undefined;
          this.startAck();
        }, delay);
      })
      .finally(() => {
        this.acking = undefined;
        if (this.acks.length > 0 && this.ackTimer === undefined && !this.closed) this.ackScheduled ??= setImmediate(() => this.startAck());
      });
  }

  /** XACK+XDEL of everything settled; on failure the ids are kept for the next attempt. */
  private async flushAcks(): Promise<void> {
    while (this.acks.length > 0) {
      const ids = this.acks.splice(0, IDS_PER_CALL);
      try {
        await this.opts.stream.ack(ids);
        this.stats.acked += ids.length;
      } catch (err) {
        this.acks.unshift(...ids);
        throw err;
      }
    }
  }
}
