/** Something with at most one pending deadline on a DeadlineWheel. */
export interface DeadlineEntry {
  /** The wheel's bookkeeping (0 = not scheduled); only DeadlineWheel writes it. */
  wheelTick: number;
  /** Called once the scheduled deadline has passed; the entry is unscheduled by then. */
  onDeadline(now: number): void;
}

/**
 * One coarse timer for every connection's deadlines (login, idle, drain, kick)
 * instead of a Node timer per connection and purpose (issue 13): entries sit
 * in buckets of tickMs and one interval walks only the buckets that are due.
 * A deadline fires between 0 and tickMs late, never early.
 */
export class DeadlineWheel {
  private readonly buckets = new Map<number, Set<DeadlineEntry>>();
  /** Last tick whose bucket was swept. */
  private sweptTick: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly tickMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(tickMs) || tickMs <= 0) throw new Error(`DeadlineWheel: tickMs must be a positive integer, got ${tickMs}`);
    this.sweptTick = Math.floor(this.now() / tickMs);
  }

  /** Entries waiting for their deadline. */
  get size(): number {
    let n = 0;
    for (const bucket of this.buckets.values()) n += bucket.size;
    return n;
  }

  /** (Re)schedules entry for the absolute time atMs (Date.now() scale); replaces its earlier deadline. */
  schedule(entry: DeadlineEntry, atMs: number): void {
    if (this.timer === undefined) this.sweptTick = Math.max(this.sweptTick, Math.floor(this.now() / this.tickMs));
    // Rounded up (never early); a deadline already passed goes to the next sweep.
    const tick = Math.max(Math.ceil(atMs / this.tickMs), this.sweptTick + 1);
    if (entry.wheelTick === tick) return;
    this.cancel(entry);
    let bucket = this.buckets.get(tick);
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets.set(tick, bucket);
    }
    bucket.add(entry);
    entry.wheelTick = tick;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.tickMs);
      // The listening sockets keep the process alive, not the sweep.
      this.timer.unref();
    }
  }

  cancel(entry: DeadlineEntry): void {
    if (entry.wheelTick === 0) return;
    const tick = entry.wheelTick;
    entry.wheelTick = 0;
    const bucket = this.buckets.get(tick);
    if (bucket === undefined) return;
    bucket.delete(entry);
    if (bucket.size === 0) this.buckets.delete(tick);
  }

  /** Fires every entry whose tick has passed; the interval calls it, tests may too. */
  sweep(): void {
    const now = this.now();
    const nowTick = Math.floor(now / this.tickMs);
    // Every tick since the last sweep (a stalled event loop leaves several); an entry
    // re-scheduled while firing lands in the next tick and is still visited here if due.
    while (this.sweptTick < nowTick) {
      this.sweptTick += 1;
      const bucket = this.buckets.get(this.sweptTick);
      if (bucket === undefined) continue;
      this.buckets.delete(this.sweptTick);
      for (const entry of bucket) {
        // Cancelled or moved by an earlier callback of this bucket.
        if (entry.wheelTick !== this.sweptTick) continue;
        entry.wheelTick = 0;
        entry.onDeadline(now);
      }
    }
    if (this.buckets.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
