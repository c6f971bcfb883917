// Memory and liveness of spawned service processes, from /proc (Linux).
import { readFileSync } from 'node:fs';

export const MiB = 1024 * 1024;

/** Resident set size in bytes, or undefined when the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS on an interval; `peak` is the largest sample. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private samples = 0;
  peak = 0;
  /** Every 25th sample, for the record (is it a plateau or a slope?). */
  readonly series: number[] = [];

  constructor(
    private readonly pid: number,
    intervalMs: number,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  get count(): number {
    return this.samples;
  }

  /** Takes a last sample and stops; returns it. */
  stop(): number {
    clearInterval(this.timer);
    this.timer = undefined;
    return this.sample();
  }

  private sample(): number {
    const rss = rssBytes(this.pid) ?? 0;
    if (this.samples % 25 === 0) this.series.push(Math.round(rss / MiB));
    this.samples += 1;
    this.peak = Math.max(this.peak, rss);
    return rss;
  }
}

