import { followRegistration } from '@tiertalk/health';
import type { CheckSink } from '@tiertalk/health';
import type { Logger } from '@tiertalk/log';
import type { InstanceInfo, Registration, Registry } from '@tiertalk/registry';

/** etcd unreachable at stop: the lease then expires with its TTL, and the stop goes on. */
const DEREGISTER_TIMEOUT_MS = 2000;
/** A drain hook that overruns its own deadline by more than this is left behind. */
const DRAIN_MARGIN_MS = 250;

export interface ServiceLifecycleOptions {
  log: Logger;
  /** Goes not ready first at stop: /readyz and grpc.health answer "draining" while the rest runs. */
  readiness: { drain(): void };
  deregisterTimeoutMs?: number;
}

export interface StepOptions {
  /** The step is left behind (logged, stop() resolves false) when it takes longer. */
  timeoutMs?: number;
}

interface Step {
  what: string;
  run: () => unknown;
  timeoutMs?: number;
}

/**
 * One service's life, in goim's order (its main.go): start what serves, register
 * in etcd, ready. At stop: not ready, deregister (callers stop picking us), drain
 * what is in flight, then close what started, last started first.
 *
 * main.ts calls `closes()` as each part starts, `register()` once everything
 * listens, and `drains()` for its in-flight work; exitOnSignals() calls stop().
 */
export class ServiceLifecycle {
  private readonly log: Logger;
  private readonly readiness: { drain(): void };
  private readonly deregisterTimeoutMs: number;
  private readonly stoppingHooks: (() => void)[] = [];
  private readonly drainSteps: Step[] = [];
  private readonly closeSteps: Step[] = [];
  private registration: Pick<Registration, 'deregister'> | undefined;
  private stopping: Promise<boolean> | undefined;

  constructor(opts: ServiceLifecycleOptions) {
    this.log = opts.log;
    this.readiness = opts.readiness;
    this.deregisterTimeoutMs = opts.deregisterTimeoutMs ?? DEREGISTER_TIMEOUT_MS;
  }

  /** `close` runs at stop after draining; parts close in the reverse order of these calls. */
  closes(what: string, close: () => unknown, opts: StepOptions = {}): void {
    this.closeSteps.push({ what, run: close, timeoutMs: opts.timeoutMs });
  }

  /**
   * In-flight work to finish after deregistering, before anything closes; hooks
   * run in the order of these calls. The hook gets its deadline and should keep
   * to it: past it (plus a margin) the stop goes on without it.
   */
  drains(what: string, deadlineMs: number, drain: (deadlineMs: number) => unknown): void {
    this.drainSteps.push({ what, run: () => drain(deadlineMs), timeoutMs: deadlineMs + DRAIN_MARGIN_MS });
  }

  /** Runs first at stop, before deregistering (e.g. stop reporting load to etcd). */
  onStopping(hook: () => void): void {
    this.stoppingHooks.push(hook);
  }

  /**
   * Registers in etcd, last at start-up: from now on others send us work. The
   * readiness check `registered` follows the lease; the key goes first at stop.
   */
  async register(registry: Pick<Registry, 'register'>, info: InstanceInfo, registered: CheckSink): Promise<Registration> {
    const registration = await registry.register(info);
    this.registration = registration;
    followRegistration(registered, registration);
    return registration;
  }

  /** Runs the stop once (later calls get the same promise); true when every step finished in time. Never rejects. */
  stop(reason: string): Promise<boolean> {
    this.stopping ??= this.runStop(reason);
    return this.stopping;
  }

  private async runStop(reason: string): Promise<boolean> {
    this.log.info({ reason }, 'shutting down');
    let clean = true;
    const step = async (s: Step): Promise<void> => {
      if (!(await this.runStep(s))) clean = false;
    };
    await step({
      what: 'not ready',
      run: () => {
        this.readiness.drain();
        for (const hook of this.stoppingHooks) hook();
      },
    });
    const registration = this.registration;
    if (registration) await step({ what: 'deregister', run: () => registration.deregister(), timeoutMs: this.deregisterTimeoutMs });
    for (const s of this.drainSteps) await step(s);
    for (const s of [...this.closeSteps].reverse()) await step(s);
    this.log.info({ clean }, 'stopped');
    return clean;
  }

  /** One step, logged; a failure or an overrun is logged and the stop goes on. */
  private async runStep(s: Step): Promise<boolean> {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<'timeout'>((resolve) => {
      if (s.timeoutMs !== undefined) timer = setTimeout(() => resolve('timeout'), s.timeoutMs);
    });
    try {
      const outcome = await Promise.race([Promise.resolve().then(s.run), overrun]);
      if (outcome === 'timeout') {
        this.log.warn({ step: s.what, ms: s.timeoutMs }, 'shutdown step timed out');
        return false;
      }
      this.log.info({ step: s.what, ms: Date.now() - started }, 'shutdown step done');
      return true;
    } catch (err) {
      this.log.warn({ step: s.what, err }, 'shutdown step failed');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
