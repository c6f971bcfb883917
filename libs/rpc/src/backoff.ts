import { ExponentialBackoff } from 'cockatiel';
import type { IBackoff } from 'cockatiel';

export interface ReconnectBackoffOptions {
  /** First delay after a failure, ms. Default 50. */
  initialMs?: number;
  /** Longest delay, ms. Default 2000. */
  maxMs?: number;
}

/**
 * Jittered exponential delays between reconnect attempts of one long-lived
 * stream (cockatiel's decorrelated jitter), so N callers of a restarted peer
 * do not reconnect in lockstep. reset() after a stream proved healthy; a peer
 * seen back in etcd should be tried at once, not after the current delay.
 */
export class ReconnectBackoff {
  private readonly factory: ExponentialBackoff<unknown>;
  private current: IBackoff<unknown> | undefined;

  constructor(opts: ReconnectBackoffOptions = {}) {
    this.factory = new ExponentialBackoff({ initialDelay: opts.initialMs ?? 50, maxDelay: opts.maxMs ?? 2000 });
  }

  /** The delay before the next attempt; each call backs off further. */
  next(): number {
    this.current = this.current === undefined ? this.factory.next() : this.current.next(undefined);
    return Math.round(this.current.duration);
  }

  /** Start again from the shortest delay. */
  reset(): void {
    this.current = undefined;
  }
}
