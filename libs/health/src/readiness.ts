/** One named check as reported in /readyz. */
export interface CheckReport {
  ok: boolean;
  /** A failing critical check makes the instance not ready; an advisory one only warns. */
  critical: boolean;
  /** Why it fails (absent while ok). */
  reason?: string;
  /** ISO time of the last change of `ok`. */
  since: string;
}

/** The body of /readyz. */
export interface ReadinessReport {
  service: string;
  ready: boolean;
  /** True once the instance began shutting down: it stays not ready until it exits. */
  draining: boolean;
  /** "<check>: <reason>" of every failing critical check (and "draining"). */
  reasons: string[];
  /** "<check>: <reason>" of every failing advisory check. */
  warnings: string[];
  checks: Record<string, CheckReport>;
}

export interface CheckOptions {
  /** Default true. An advisory check shows in /readyz but never makes the instance unready. */
  critical?: boolean;
  /** Why the check fails until its first result (default "not checked yet"). */
  initialReason?: string;
}

/** Where a probe reports: one check, or several fed by the same probe. */
export interface CheckSink {
  pass(): void;
  fail(reason: string): void;
}

/** Anything with pino's `info`/`warn(obj, msg)`; kept structural so this library does not depend on the logger. */
export interface ReadinessLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** A named dependency check of a Readiness; its owner reports pass or fail. */
export class Check implements CheckSink {
  private ok = false;
  private reason: string | undefined;
  private since = Date.now();
  /** A failure was reported (not just the initial state): its recovery is worth a log line. */
  private failedOnce = false;

  /** @internal use Readiness.add() */
  constructor(
    readonly name: string,
    readonly critical: boolean,
    initialReason: string,
    private readonly changed: () => void,
    private readonly log: ReadinessLogger | undefined,
  ) {
    this.reason = initialReason;
  }

  get passing(): boolean {
    return this.ok;
  }

  pass(): void {
    this.set(true, undefined);
  }

  fail(reason: string): void {
    this.set(false, reason);
  }

  /** @internal */
  report(): CheckReport {
    return { ok: this.ok, critical: this.critical, ...(this.reason !== undefined ? { reason: this.reason } : {}), since: new Date(this.since).toISOString() };
  }

  private set(ok: boolean, reason: string | undefined): void {
    if (ok === this.ok && reason === this.reason) return;
    if (ok !== this.ok || !this.failedOnce) this.logFlip(ok, reason);
    if (ok !== this.ok) this.since = Date.now();
    this.ok = ok;
    this.reason = reason;
    this.changed();
  }

  // One line per flip, not per changed reason: a flapping dependency must not flood the log.
  private logFlip(ok: boolean, reason: string | undefined): void {
    if (!ok) {
      this.failedOnce = true;
      this.log?.warn({ check: this.name, critical: this.critical, reason }, 'readiness check failing');
    } else if (this.failedOnce) {
      this.log?.info({ check: this.name, critical: this.critical }, 'readiness check passing again');
    }
  }
}

/**
 * A service instance's readiness: named dependency checks (MySQL, each Redis,
 * its etcd registration, live instances of the tiers it calls) whose states
 * drive both the gRPC health service (grpc-health.ts) and /readyz
 * (http-probes.ts). Ready = not draining and every critical check passing.
 * Listeners hear every change of the report (a reason changing too), not only
 * flips of `ready`.
 */
export class Readiness {
  private readonly checks = new Map<string, Check>();
  private readonly listeners = new Set<(report: ReadinessReport) => void>();
  private isDraining = false;

  /** `log` gets a line whenever a check starts failing or recovers. */
  constructor(
    readonly service: string,
    private readonly log?: ReadinessLogger,
  ) {}

  /** Adds a check, failing with `initialReason` until its owner reports. Names are unique. */
  add(name: string, opts: CheckOptions = {}): Check {
    if (this.checks.has(name)) throw new Error(`${this.service}: readiness check ${name} added twice`);
    const check = new Check(name, opts.critical ?? true, opts.initialReason ?? 'not checked yet', () => this.notify(), this.log);
    this.checks.set(name, check);
    this.notify();
    return check;
  }

  get ready(): boolean {
    if (this.isDraining) return false;
    for (const c of this.checks.values()) if (c.critical && !c.passing) return false;
    return true;
  }

  get draining(): boolean {
    return this.isDraining;
  }

  /**
   * Shutdown began: not ready from now on, whatever the checks say, so load
   * balancers and probes stop sending before the instance deregisters.
   */
  drain(): void {
    if (this.isDraining) return;
    this.isDraining = true;
    this.notify();
  }

  report(): ReadinessReport {
    const reasons: string[] = this.isDraining ? ['draining: shutting down'] : [];
    const warnings: string[] = [];
    const checks: Record<string, CheckReport> = {};
    for (const [name, c] of this.checks) {
      const r = c.report();
      checks[name] = r;
      if (!r.ok) (c.critical ? reasons : warnings).push(`${name}: ${r.reason ?? 'failing'}`);
    }
    return { service: this.service, ready: this.ready, draining: this.isDraining, reasons, warnings, checks };
  }

  /** Calls `listener` with the report now and after every change. Returns the unsubscribe. */
  onChange(listener: (report: ReadinessReport) => void): () => void {
    this.listeners.add(listener);
    listener(this.report());
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    if (this.listeners.size === 0) return;
    const report = this.report();
    for (const listener of this.listeners) listener(report);
  }
}

/** One probe feeding several checks (e.g. every logical Redis instance sharing one connection). */
export function allOf(checks: readonly CheckSink[]): CheckSink {
  return {
    pass: () => checks.forEach((c) => c.pass()),
    fail: (reason) => checks.forEach((c) => c.fail(reason)),
  };
}
