import type { Logger } from '@tiertalk/log';
import { groupPushDelivered, groupPushShed, trackGroupPushQueue, untrackGroupPushQueue } from './push-metrics';

export interface GroupPushControlOptions {
  /** false: every push goes out at once (TT_GROUP_PUSH_CONTROL=false). */
  readonly enabled: boolean;
  /** Deliveries (one frame to one connection) allowed per interval. */
  readonly tickets: number;
  readonly intervalMs: number;
  /** Queued deliveries kept; beyond it the oldest queued pushes are dropped. */
  readonly queueMax: number;
  /** A queued push older than this is dropped. */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/** Counters since start (tests, logs). */
export interface GroupPushStats {
  delivered: number;
  /** Deliveries dropped because the queue was full (oldest pushes first). */
  shedQueueFull: number;
  /** Deliveries dropped because their push waited longer than the timeout. */
  shedTimeout: number;
}

interface QueuedPush<T> {
  readonly frame: Buffer;
  readonly targets: readonly T[];
  /** Next target to deliver to. */
  next: number;
  /** One past the last target still to deliver (lowered when the queue bound trims this push). */
  end: number;
  readonly enqueuedAt: number;
}

// Compact the queue array once this many consumed slots sit in front of it.
const COMPACT_AFTER = 1024;

/**
 * Traffic control of group pushes on one gateway, in the manner of the
 * group load-test seed (a ticket budget per interval, e.g. 2,000 with a 30 s
 * timeout): each interval allows `tickets` deliveries; pushes beyond the
 * budget wait in FIFO order in a queue bounded in deliveries; when it is full
 * the oldest queued pushes are dropped, and a push that waited longer than the
 * timeout is dropped. Only the live push is lost: the message is stored and
 * every member gets it through unread and history (docs/FLOWS.md §10.2 step 6).
 * A push may be split across intervals; each target gets the frame at most once.
 * 1:1 traffic never comes here.
 */
export class GroupPushControl<T> {
  readonly stats: GroupPushStats = { delivered: 0, shedQueueFull: 0, shedTimeout: 0 };
  private readonly log: Logger;
  private queue: Array<QueuedPush<T>> = [];
  private head = 0;
  private queued = 0;
  private windowStart = Number.NEGATIVE_INFINITY;
  private ticketsLeft = 0;
  private drainTimer: NodeJS.Timeout | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private shedQueueFullSinceReport = 0;
  private shedTimeoutSinceReport = 0;
  private closed = false;

  constructor(
    private readonly opts: GroupPushControlOptions,
    private readonly deliver: (frame: Buffer, target: T) => void,
  ) {
    this.log = opts.logger.child({ component: 'group-push-control' });
    trackGroupPushQueue(this);
  }

  /** Deliveries waiting in the queue. */
  get queuedDeliveries(): number {
    return this.queued;
  }

  /** Sends `frame` to each target, now if the budget allows, otherwise later in order (or never, see above). */
  submit(frame: Buffer, targets: readonly T[]): void {
    if (this.closed || targets.length === 0) return;
    if (!this.opts.enabled) {
      for (const target of targets) this.deliver(frame, target);
      this.stats.delivered += targets.length;
      groupPushDelivered.inc(targets.length);
      return;
    }
    const now = Date.now();
    this.refill(now);
    const push: QueuedPush<T> = { frame, targets, next: 0, end: targets.length, enqueuedAt: now };
    // Nothing waits before it: spend what the budget allows at once.
    if (this.queue.length === this.head) this.send(push);
    if (push.next < push.end) {
      this.queue.push(push);
      this.queued += push.end - push.next;
      this.enforceBound();
      this.scheduleDrain(now);
    }
  }

  /** Drops whatever is queued and stops the timers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    untrackGroupPushQueue(this);
    clearTimeout(this.drainTimer);
    clearTimeout(this.reportTimer);
    this.drainTimer = undefined;
    this.reportTimer = undefined;
    if (this.queued > 0) this.log.info({ droppedDeliveries: this.queued }, 'group pushes still queued at shutdown dropped');
    this.queue = [];
    this.head = 0;
    this.queued = 0;
  }

  private refill(now: number): void {
    if (now - this.windowStart < this.opts.intervalMs) return;
    this.windowStart = now;
    this.ticketsLeft = this.opts.tickets;
  }

  /** Delivers as much of the push as the tickets allow. */
  private send(push: QueuedPush<T>): void {
    const stop = Math.min(push.end, push.next + this.ticketsLeft);
    const count = stop - push.next;
    for (let i = push.next; i < stop; i++) this.deliver(push.frame, push.targets[i]);
    push.next = stop;
    this.ticketsLeft -= count;
    this.stats.delivered += count;
    groupPushDelivered.inc(count);
  }

  /** Oldest pushes go first; a single push larger than the bound keeps only its first queueMax deliveries. */
  private enforceBound(): void {
    while (this.queued > this.opts.queueMax) {
      const oldest = this.queue[this.head];
      const remaining = oldest.end - oldest.next;
      if (this.queue.length - this.head > 1) {
        this.shiftHead();
        this.queued -= remaining;
        this.noteShed('queueFull', remaining);
        continue;
      }
      const excess = this.queued - this.opts.queueMax;
      oldest.end -= excess;
      this.queued -= excess;
      this.noteShed('queueFull', excess);
    }
  }

  private drain(): void {
    this.drainTimer = undefined;
    if (this.closed) return;
    const now = Date.now();
    this.refill(now);
    // FIFO: the oldest pushes are at the head.
    while (this.head < this.queue.length) {
      const push = this.queue[this.head];
      if (now - push.enqueuedAt <= this.opts.timeoutMs) break;
      this.shiftHead();
      this.queued -= push.end - push.next;
      this.noteShed('timeout', push.end - push.next);
    }
    while (this.head < this.queue.length && this.ticketsLeft > 0) {
      const push = this.queue[this.head];
      const before = push.next;
      this.send(push);
      this.queued -= push.next - before;
      if (push.next >= push.end) this.shiftHead();
    }
    this.scheduleDrain(now);
  }

  private scheduleDrain(now: number): void {
    if (this.drainTimer || this.head >= this.queue.length) return;
    const wait = Math.max(0, this.windowStart + this.opts.intervalMs - now);
    this.drainTimer = setTimeout(() => this.drain(), wait);
  }

  private shiftHead(): void {
    this.head += 1;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private noteShed(kind: 'queueFull' | 'timeout', deliveries: number): void {
    if (deliveries <= 0) return;
    groupPushShed.inc({ reason: kind === 'queueFull' ? 'queue_full' : 'timeout' }, deliveries);
    if (kind === 'queueFull') {
      this.stats.shedQueueFull += deliveries;
      this.shedQueueFullSinceReport += deliveries;
    } else {
      this.stats.shedTimeout += deliveries;
      this.shedTimeoutSinceReport += deliveries;
    }
    // At most one line per interval, only when something was shed.
    this.reportTimer ??= setTimeout(() => this.report(), this.opts.intervalMs);
  }

  private report(): void {
    this.reportTimer = undefined;
    this.log.warn(
      {
        shedQueueFull: this.shedQueueFullSinceReport,
        shedTimeout: this.shedTimeoutSinceReport,
        queuedDeliveries: this.queued,
        totalShed: this.stats.shedQueueFull + this.stats.shedTimeout,
      },
      'group push deliveries shed by traffic control (stored; members get them through unread and history)',
    );
    this.shedQueueFullSinceReport = 0;
    this.shedTimeoutSinceReport = 0;
  }
}
