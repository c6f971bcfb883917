import { Counter } from 'prom-client';
import { metricsRegistry } from './registry';

/** Anything with pino's `warn(obj, msg)`; kept structural so this library does not depend on the logger. */
export interface WarnLogger {
  warn(obj: object, msg: string): void;
}

const refusals = new Counter({
  name: 'tt_refusals_total',
  help: 'Requests, frames or connections refused for security or resource limits, by reason',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});

/**
 * Counts refusals (bad input, limits, lockouts) and logs each (reason,
 * offender) at most once per interval, with how many were suppressed since:
 * a hostile client sending thousands of bad frames costs one log line, not
 * thousands (a synchronous log line per frame is itself a denial of service).
 * `reason` must come from a fixed set (it is a metric label); `offender` is
 * free (an IP, a user id) because it only reaches the log.
 */
export class RefusalLog {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: WarnLogger,
    private readonly intervalMs = 60_000,
    private readonly maxTracked = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  refuse(reason: string, offender: string, detail: Record<string, unknown> = {}): void {
    refusals.inc({ reason });
    const key = `${reason}\u0000${offender}`;
    const t = this.now();
    const seen = this.lastLogged.get(key);
    if (seen && t - seen.at < this.intervalMs) {
      seen.suppressed += 1;
      return;
    }
    if (!seen && this.lastLogged.size >= this.maxTracked) this.forgetOldest(t);
    this.log.warn({ reason, offender, suppressed: seen?.suppressed ?? 0, ...detail }, 'refused');
    this.lastLogged.set(key, { at: t, suppressed: 0 });
  }

  /** Drops expired entries; if all are fresh, the oldest (a flood of distinct offenders stays bounded). */
  private forgetOldest(t: number): void {
    for (const [k, v] of this.lastLogged) if (t - v.at >= this.intervalMs) this.lastLogged.delete(k);
    if (this.lastLogged.size >= this.maxTracked) {
      const first = this.lastLogged.keys().next();
      if (!first.done) this.lastLogged.delete(first.value);
    }
  }
}

/** Current count for one reason (tests and admin output). */
export async function refusalCount(reason: string): Promise<number> {
  const m = await refusals.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}
