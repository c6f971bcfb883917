import { ConfigError } from '@tiertalk/config';
import type { Logger } from '@tiertalk/log';

export interface ExitOnSignalsOptions {
  log: Logger;
  /** Past this after the first signal the process exits 1, whatever is still closing. */
  exitDeadlineMs: number;
  /** After the stop, closing sockets get this long to flush before the exit (default 0: exit at once). */
  flushMs?: number;
  signals?: readonly NodeJS.Signals[];
}

/**
 * The one place a service reacts to SIGTERM/SIGINT: the first signal runs
 * `stop` (ServiceLifecycle.stop) and exits 0 when it was clean, 1 otherwise;
 * a stop that outlives exitDeadlineMs exits 1, so an orchestrator never has
 * to kill; a second signal while stopping exits 1 at once (Ctrl-C twice).
 */
export function exitOnSignals(stop: (reason: string) => Promise<boolean>, opts: ExitOnSignalsOptions): void {
  const { log, exitDeadlineMs, flushMs = 0 } = opts;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal while stopping: exiting now');
      process.exit(1);
    }
    stopping = true;
    setTimeout(() => {
      log.error({ ms: exitDeadlineMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, exitDeadlineMs).unref();
    void stop(signal).then((clean) => {
      const code = clean ? 0 : 1;
      if (flushMs <= 0) process.exit(code);
      // Whatever still holds the loop (a socket flushing) is cut shortly after.
      process.exitCode = code;
      setTimeout(() => process.exit(code), flushMs).unref();
    });
  };
  for (const signal of opts.signals ?? (['SIGTERM', 'SIGINT'] as const)) process.on(signal, onSignal);
}

/** For main().catch(): a configuration error exits 2 with its message (like a bad key), anything else 1. */
export function exitOnStartFailure(err: unknown, log: Logger): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  log.fatal({ err }, 'start-up failed');
  process.exit(1);
}
