import { setTimeout as sleep } from 'node:timers/promises';

export class WaitTimeoutError extends Error {
  readonly code = 'WAIT_TIMEOUT';
  constructor(message: string) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

export interface WaitOptions {
  intervalMs?: number;
  /** Names what was awaited in the timeout error. */
  what?: string;
}

/**
 * Polls `predicate` until it returns true; rejects after `timeoutMs`.
 * A predicate that throws ends the wait with that error (e.g. "process exited").
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  opts: WaitOptions = {},
): Promise<void> {
  const interval = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}`);
    }
    await sleep(Math.min(interval, Math.max(1, deadline - Date.now())));
  }
}
