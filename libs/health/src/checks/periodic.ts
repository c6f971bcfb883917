import type { CheckSink } from '../readiness';

export interface PeriodicProbeOptions {
  /** Time between the end of one probe and the start of the next. */
  intervalMs: number;
  /** A probe that has not answered by then fails (default: intervalMs). */
  timeoutMs?: number;
  /** What a timeout is reported as, e.g. "no answer to SELECT 1". */
  what?: string;
}

export interface PeriodicProbe {
  /** Runs one probe now (e.g. on a connection event) unless one is under way. */
  runNow(): void;
  /** Stops probing; resolves once a probe under way has ended. */
  stop(): Promise<void>;
}

/**
 * Runs `probe` at once and then every interval, one at a time, and reports
 * its outcome: resolved = pass, rejected or timed out = fail with the error's
 * message. Timers are unref'd so probing never keeps a process alive.
 */
export function startPeriodicProbe(sink: CheckSink, probe: () => Promise<unknown>, opts: PeriodicProbeOptions): PeriodicProbe {
  const timeoutMs = opts.timeoutMs ?? opts.intervalMs;
  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(runNow, opts.intervalMs);
    timer.unref();
  };
  const runOnce = async (): Promise<void> => {
    let deadline: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      deadline = setTimeout(() => reject(new Error(`${opts.what ?? 'no answer'} within ${timeoutMs} ms`)), timeoutMs);
      deadline.unref();
    });
    const attempt = Promise.resolve().then(probe);
    // A probe that loses the race may still reject later: that is already reported as the timeout.
    attempt.catch(() => undefined);
    try {
      await Promise.race([attempt, timeout]);
      if (!stopped) sink.pass();
    } catch (err) {
      if (!stopped) sink.fail(err instanceof Error ? err.message || err.name : String(err));
    } finally {
      clearTimeout(deadline);
    }
  };
  function runNow(): void {
    if (stopped || running) return;
    clearTimeout(timer);
    running = runOnce().finally(() => {
      running = undefined;
      schedule();
    });
  }

  runNow();
  return {
    runNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
