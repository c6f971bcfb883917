import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from '@tiertalk/log';
import { groupPushDelivered, groupPushShed, trackGroupPushQueue, untrackGroupPushQueue } from './push-metrics';
import type { ShedReason } from './push-metrics';

/** What a group push is written to (a Connection). */
export interface GroupPushTarget {
  /** Logged in and not being kicked; a connection gone meanwhile is skipped. */
  readonly deliverable: boolean;
  /** Bytes written to it and not yet taken by the kernel. */
  readonly outboundBytes: number;
  send(frame: Buffer): boolean;
}

export interface GroupPushControlOptions {
  /** false: every push goes out at once (TT_GROUP_PUSH_CONTROL=false). */
  readonly enabled: boolean;
  /** Optional fixed ceiling: deliveries allowed per interval; 0 = none (the adaptive budget alone). */
  readonly tickets: number;
  readonly intervalMs: number;
  /** Queued deliveries kept; beyond it the oldest queued pushes are dropped. */
  readonly queueMax: number;
  /** A queued push older than this is dropped. */
  readonly timeoutMs: number;
  /** Longest a slice may spend queuing writes before it stops (the socket writes follow at its end). */
  readonly sliceMs: number;
  /** Event-loop delay (p99 over a short window) above which the slice budget shrinks, when the slices took most of that window. */
  readonly maxLoopDelayMs: number;
  /**
   * A connection with this many outbound bytes still unwritten gets no more frames for now: they wait
   * for it (in order, up to this many bytes; beyond, its oldest waiting are shed as slow_connection).
   */
  readonly connHighWaterBytes: number;
  readonly logger: Logger;
}

/** Counters since start (tests, logs). */
export interface GroupPushStats {
  delivered: number;
  /** Deliveries dropped because the queue was full (oldest pushes first). */
  shedQueueFull: number;
  /** Deliveries dropped because their push waited longer than the timeout. */
  shedTimeout: number;
  /** Deliveries dropped because the connection fell more than its high-water mark behind. */
  shedSlowConnection: number;
  /** Largest slice budget reached. */
  budgetPeak: number;
  /** Times the budget was cut because a slice ran long or the slices delayed the loop. */
  budgetCuts: number;
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

/** Frames held back for one connection over its high-water mark, oldest first. */
interface Deferred {
  frames: Buffer[];
  enqueuedAt: number[];
  head: number;
  bytes: number;
}

// Compact the queue array once this many consumed slots sit in front of it.
const COMPACT_AFTER = 1024;
// Slice budget (deliveries): where it starts, its floor and ceiling.
const BUDGET_START = 4_096;
// A floor that keeps a push to a few thousand members whole in one slice: a socket's frames of a
// slice leave in one writev, and smaller slices would write one frame per syscall.
const BUDGET_MIN = 2_048;
const BUDGET_MAX = 1_000_000;
// How often the clock is read inside a slice.
const CLOCK_EVERY = 128;
// Window over which the event-loop delay is read (and the budget cut at most once).
const LOOP_WINDOW_MS = 200;
const LOOP_RESOLUTION_MS = 10;
// How often connections with held-back frames are checked for room.
const DEFERRED_POLL_MS = 20;

/**
 * Traffic control of group pushes on one gateway. A push is encoded once and
 * the same frame is written to every target. Pushes wait in a FIFO queue
 * bounded in deliveries and are written in slices on setImmediate, so the
 * gRPC stream, logins and 1:1 ACKs get the loop between slices; within a
 * slice the transport corks each socket, so a connection's frames of one slice
 * leave in one writev.
 *
 * The slice budget (deliveries) follows what the gateway can write: it grows
 * by a quarter after every slice that used it all, and shrinks by a quarter
 * (not below 2,048) when a slice spent over `sliceMs` queuing writes, or when
 * the event-loop delay went over `maxLoopDelayMs` while the slices (their
 * socket writes included) took most of the loop's time. Large slices are what
 * make writing cheap: a socket's frames of one slice leave in one writev, and
 * the syscall per socket, not the frame, is the cost (measured: cutting slices
 * to a fixed time made a loaded gateway write one frame per syscall and fall
 * to a quarter of its rate); a loop delayed by others keeps the budget.
 * A connection holding `connHighWaterBytes` not yet taken by the kernel gets
 * its frames held back (in order, at most that many bytes, checked for room
 * every few ms), so one slow reader neither holds up the others nor grows its
 * buffer: memory is bounded by `queueMax` deliveries plus twice the mark per
 * connection.
 *
 * Only the live push is ever lost (the oldest queued beyond `queueMax`, those
 * older than `timeoutMs`, the oldest held back beyond a connection's mark;
 * each counted by reason):
 * the message is stored and every member gets it through unread and history
 * (docs/FLOWS.md §10.2). Each target gets the frame at most once.
 * 1:1 traffic never comes here.
 */
export class GroupPushControl<T extends GroupPushTarget> {
  readonly stats: GroupPushStats = { delivered: 0, shedQueueFull: 0, shedTimeout: 0, shedSlowConnection: 0, budgetPeak: BUDGET_START, budgetCuts: 0 };
  private readonly log: Logger;
  private queue: Array<QueuedPush<T>> = [];
  private head = 0;
  private queued = 0;
  private readonly deferred = new Map<T, Deferred>();
  private deferredCount = 0;
  private deferredTimer: NodeJS.Timeout | undefined;
  private budget = BUDGET_START;
  private readonly loopDelay: IntervalHistogram | undefined;
  private loopWindowStart = Date.now();
  // Time spent in slices (writes included) since loopWindowStart.
  private sliceBusyMs = 0;
  // Optional fixed ceiling (TT_GROUP_PUSH_TICKETS).
  private windowStart = Number.NEGATIVE_INFINITY;
  private ticketsLeft = Infinity;
  private slice: NodeJS.Immediate | undefined;
  private windowTimer: NodeJS.Timeout | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private readonly shedSinceReport: Record<ShedReason, number> = { queue_full: 0, timeout: 0, slow_connection: 0 };
  private closed = false;

  constructor(private readonly opts: GroupPushControlOptions) {
    this.log = opts.logger.child({ component: 'group-push-control' });
    if (opts.enabled) {
      this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
      this.loopDelay.enable();
    }
    trackGroupPushQueue(this);
  }

  /** Deliveries waiting: in the queue and held back for connections over their high-water mark. */
  get queuedDeliveries(): number {
    return this.queued + this.deferredCount;
  }

  /** Deliveries the next slice may write. */
  get sliceBudget(): number {
    return this.budget;
  }

  /** Age of the oldest queued push in ms (0 when none waits). */
  get oldestQueuedMs(): number {
    return this.head < this.queue.length ? Date.now() - this.queue[this.head].enqueuedAt : 0;
  }

  /** Sends `frame` to each target in the next slices, in order (or never, see above). */
  submit(frame: Buffer, targets: readonly T[]): void {
    if (this.closed || targets.length === 0) return;
    if (!this.opts.enabled) {
      let sent = 0;
      for (const target of targets) if (target.deliverable && target.send(frame)) sent += 1;
      this.countDelivered(sent);
      return;
    }
    this.queue.push({ frame, targets, next: 0, end: targets.length, enqueuedAt: Date.now() });
    this.queued += targets.length;
    this.enforceBound();
    this.scheduleSlice();
  }

  /** Drops whatever is queued and stops the timers. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    untrackGroupPushQueue(this);
    this.loopDelay?.disable();
    clearImmediate(this.slice);
    clearTimeout(this.windowTimer);
    clearTimeout(this.reportTimer);
    clearTimeout(this.deferredTimer);
    this.deferredTimer = undefined;
    this.slice = undefined;
    this.windowTimer = undefined;
    this.reportTimer = undefined;
    if (this.queuedDeliveries > 0) this.log.info({ droppedDeliveries: this.queuedDeliveries }, 'group pushes still queued at shutdown dropped');
    this.deferred.clear();
    this.deferredCount = 0;
    this.queue = [];
    this.head = 0;
    this.queued = 0;
  }

  private scheduleSlice(): void {
    if (this.slice || this.windowTimer || this.closed || this.head >= this.queue.length) return;
    this.slice = setImmediate(() => this.runSlice());
  }

  /** One slice: drop what timed out, then write up to the budget (and at most sliceMs of loop time). */
  private runSlice(): void {
    this.slice = undefined;
    if (this.closed) return;
    const start = Date.now();
    this.dropTimedOut(start);
    this.flushDeferred(start);
    this.refillTickets(start);
    const allowed = Math.min(this.budget, this.ticketsLeft);
    let written = 0;
    let overran = false;
    while (this.head < this.queue.length && written < allowed) {
      const push = this.queue[this.head];
      const stop = Math.min(push.end, push.next + (allowed - written));
      let i = push.next;
      let sent = 0;
      for (; i < stop; i++) {
        const target = push.targets[i];
        if (!target.deliverable) continue;
        // Frames already wait for it, or its socket is full: this one waits too (order kept).
        if (this.deferred.has(target) || target.outboundBytes >= this.opts.connHighWaterBytes) this.defer(target, push.frame, push.enqueuedAt);
        else if (target.send(push.frame)) sent += 1;
        if ((i - push.next + 1 + written) % CLOCK_EVERY === 0 && Date.now() - start > this.opts.sliceMs) {
          overran = true;
          i += 1;
          break;
        }
      }
      const done = i - push.next;
      written += done;
      this.queued -= done;
      push.next = i;
      this.countDelivered(sent);
      if (push.next >= push.end) this.shiftHead();
      if (overran) break;
    }
    if (this.ticketsLeft !== Infinity) this.ticketsLeft -= written;
    const budgetWasLimit = written >= this.budget && this.head < this.queue.length;
    // The transports uncork on nextTicks queued during the slice: this one runs after them, so the
    // slice's cost includes its socket writes (most of it).
    process.nextTick(() => this.adapt(start, Date.now(), overran, budgetWasLimit));
    if (this.head >= this.queue.length) return;
    if (this.ticketsLeft <= 0) {
      // Fixed ceiling spent: wait for its next interval.
      this.windowTimer = setTimeout(() => {
        this.windowTimer = undefined;
        this.scheduleSlice();
      }, Math.max(0, this.windowStart + this.opts.intervalMs - Date.now()));
      return;
    }
    this.scheduleSlice();
  }

  /** Holds `frame` back for `target`; beyond its mark the oldest held frames are shed. */
  private defer(target: T, frame: Buffer, enqueuedAt: number): void {
    let d = this.deferred.get(target);
    if (!d) {
      d = { frames: [], enqueuedAt: [], head: 0, bytes: 0 };
      this.deferred.set(target, d);
    }
    d.frames.push(frame);
    d.enqueuedAt.push(enqueuedAt);
    d.bytes += frame.length;
    this.deferredCount += 1;
    let shed = 0;
    while (d.bytes > this.opts.connHighWaterBytes && d.frames.length - d.head > 1) {
      d.bytes -= d.frames[d.head].length;
      d.head += 1;
      shed += 1;
    }
    this.deferredCount -= shed;
    this.noteShed('slow_connection', shed);
    this.deferredTimer ??= setTimeout(() => {
      this.deferredTimer = undefined;
      this.flushDeferred(Date.now());
    }, DEFERRED_POLL_MS);
  }

  /** Writes held-back frames to connections that have room again; drops those past the timeout. */
  private flushDeferred(now: number): void {
    if (this.closed) return;
    let sent = 0;
    let timedOut = 0;
    for (const [target, d] of this.deferred) {
      const before = d.head;
      if (!target.deliverable) {
        d.head = d.frames.length;
      } else {
        while (d.head < d.frames.length && now - d.enqueuedAt[d.head] > this.opts.timeoutMs) {
          d.bytes -= d.frames[d.head].length;
          d.head += 1;
          timedOut += 1;
        }
        while (d.head < d.frames.length && target.outboundBytes < this.opts.connHighWaterBytes) {
          const frame = d.frames[d.head];
          d.bytes -= frame.length;
          d.head += 1;
          if (target.send(frame)) sent += 1;
        }
      }
      this.deferredCount -= d.head - before;
      if (d.head >= d.frames.length) this.deferred.delete(target);
      else if (d.head >= COMPACT_AFTER) {
        d.frames = d.frames.slice(d.head);
        d.enqueuedAt = d.enqueuedAt.slice(d.head);
        d.head = 0;
      }
    }
    this.countDelivered(sent);
    this.noteShed('timeout', timedOut);
    if (this.deferred.size > 0) {
      this.deferredTimer ??= setTimeout(() => {
        this.deferredTimer = undefined;
        this.flushDeferred(Date.now());
      }, DEFERRED_POLL_MS);
    }
  }

  /**
   * AIMD-like: shrink by a quarter on a long slice, or on a delayed loop (once per window) that the slices
   * caused (they took most of the window; a loop delayed by others keeps the budget, since smaller
   * slices would only batch worse); grow by a quarter while the budget is the limit.
   */
  private adapt(start: number, end: number, overran: boolean, budgetWasLimit: boolean): void {
    if (this.closed) return;
    this.sliceBusyMs += end - start;
    let loopDelayed = false;
    const windowMs = end - this.loopWindowStart;
    if (this.loopDelay && windowMs >= LOOP_WINDOW_MS) {
      loopDelayed = this.loopDelay.percentile(99) / 1e6 > this.opts.maxLoopDelayMs && this.sliceBusyMs > windowMs / 2;
      this.loopDelay.reset();
      this.loopWindowStart = end;
      this.sliceBusyMs = 0;
    }
    if (overran || loopDelayed) {
      this.budget = Math.max(BUDGET_MIN, Math.floor(this.budget * 0.75));
      this.stats.budgetCuts += 1;
    } else if (budgetWasLimit) {
      this.budget = Math.min(BUDGET_MAX, this.budget + (this.budget >> 2));
      if (this.budget > this.stats.budgetPeak) this.stats.budgetPeak = this.budget;
    }
  }

  private refillTickets(now: number): void {
    if (this.opts.tickets <= 0 || now - this.windowStart < this.opts.intervalMs) return;
    this.windowStart = now;
    this.ticketsLeft = this.opts.tickets;
  }

  private dropTimedOut(now: number): void {
    // FIFO: the oldest pushes are at the head.
    while (this.head < this.queue.length) {
      const push = this.queue[this.head];
      if (now - push.enqueuedAt <= this.opts.timeoutMs) break;
      this.shiftHead();
      this.queued -= push.end - push.next;
      this.noteShed('timeout', push.end - push.next);
    }
  }

  /** Oldest pushes go first; a single push larger than the bound keeps only its first queueMax deliveries. */
  private enforceBound(): void {
    while (this.queued > this.opts.queueMax) {
      const oldest = this.queue[this.head];
      const remaining = oldest.end - oldest.next;
      if (this.queue.length - this.head > 1) {
        this.shiftHead();
        this.queued -= remaining;
        this.noteShed('queue_full', remaining);
        continue;
      }
      const excess = this.queued - this.opts.queueMax;
      oldest.end -= excess;
      this.queued -= excess;
      this.noteShed('queue_full', excess);
    }
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

  private countDelivered(n: number): void {
    if (n <= 0) return;
    this.stats.delivered += n;
    groupPushDelivered.inc(n);
  }

  private noteShed(reason: ShedReason, deliveries: number): void {
    if (deliveries <= 0) return;
    groupPushShed.inc({ reason }, deliveries);
    if (reason === 'queue_full') this.stats.shedQueueFull += deliveries;
    else if (reason === 'timeout') this.stats.shedTimeout += deliveries;
    else this.stats.shedSlowConnection += deliveries;
    this.shedSinceReport[reason] += deliveries;
    // At most one line a second, only when something was shed.
    this.reportTimer ??= setTimeout(() => this.report(), 1_000);
  }

  private report(): void {
    this.reportTimer = undefined;
    const s = this.shedSinceReport;
    this.log.warn(
      {
        shedQueueFull: s.queue_full,
        shedTimeout: s.timeout,
        shedSlowConnection: s.slow_connection,
        queuedDeliveries: this.queued,
        sliceBudget: this.budget,
        totalShed: this.stats.shedQueueFull + this.stats.shedTimeout + this.stats.shedSlowConnection,
      },
      'group push deliveries shed by traffic control (stored; members get them through unread and history)',
    );
    s.queue_full = s.timeout = s.slow_connection = 0;
  }
}
