import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from '@tiertalk/log';
import { backoffMs, sleep } from './backoff';
import { InstanceInfo, LEAVING_META_KEY, assertInstanceInfo } from './instance';
import { leaseLosses, reRegistrations, trackRegistration, untrackRegistration } from './registration-metrics';

export type InstancePatch = Partial<Pick<InstanceInfo, 'load' | 'meta'>>;

/** Whether an instance's key is held in etcd; `reason` says why not. */
export type RegistrationState = { registered: true; reason?: undefined } | { registered: false; reason: string };

/**
 * One instance's key in etcd, attached to a kept-alive lease. A lost lease is
 * re-granted and the key re-put, with backoff, until the registration ends.
 * Create with Registry.register().
 */
export class Registration {
  private info: InstanceInfo;
  private lease: Lease | undefined;
  /** Lease being granted by acquire(); its 'lost' is handled there, not by onLost. */
  private acquiring: Lease | undefined;
  private readonly stopped = new AbortController();
  private needLease = false;
  private dirty = false;
  private worker: Promise<void> | undefined;
  private ending: Promise<void> | undefined;
  private readonly reRegisteredListeners = new Set<() => void>();
  private readonly stateListeners = new Set<(state: RegistrationState) => void>();
  private state: RegistrationState = { registered: false, reason: 'not registered yet' };

  /** @internal use Registry.register() */
  constructor(
    private readonly client: Etcd3,
    readonly key: string,
    info: InstanceInfo,
    private readonly ttlSec: number,
    private readonly log: Logger,
    private readonly onEnd: (r: Registration) => void,
  ) {
    this.info = copyInfo(info);
  }

  /** The value as last requested (what etcd holds once pending writes land). */
  get current(): InstanceInfo {
    return copyInfo(this.info);
  }

  get closed(): boolean {
    return this.stopped.signal.aborted;
  }

  /** The key is in etcd under a lease being kept alive (tt_registry_registered). */
  get registered(): boolean {
    return !this.closed && this.lease !== undefined && this.acquiring === undefined && !this.needLease;
  }

  /** @internal first grant and put; rejects so a service fails loudly at start-up. */
  async start(): Promise<void> {
    await this.acquire();
    this.setState({ registered: true });
    trackRegistration(this);
  }

  /** Whether the key is in etcd on a live lease right now (as far as this process knows), and why not. */
  get registration(): RegistrationState {
    return this.state;
  }

  /**
   * Calls `listener` with the current state at once and on every change:
   * lease lost (etcd unreachable past the TTL, key gone), registered again,
   * deregistered. Readiness (libs/health) follows it. Returns the unsubscribe.
   */
  onStateChange(listener: (state: RegistrationState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => this.stateListeners.delete(listener);
  }

  /**
   * Changes load and/or meta (meta is replaced as a whole) and writes the value
   * on the current lease. Rapid calls coalesce: one put in flight, latest value
   * wins. Resolves once the latest value is written or the registration ends;
   * failures are logged and retried, never thrown.
   */
  update(patch: InstancePatch): Promise<void> {
    if (this.closed) return Promise.resolve();
    const next: InstanceInfo = {
      ...this.info,
      load: patch.load ?? this.info.load,
      meta: patch.meta ? { ...patch.meta } : this.info.meta,
    };
    assertInstanceInfo(next);
    this.info = next;
    this.dirty = true;
    return this.kick();
  }

  /**
   * Calls `listener` each time the key was put again under a new lease after
   * the old one was lost: watchers may have seen it removed meanwhile (and
   * dropped what they knew about this instance). Returns the unsubscribe.
   */
  onReRegistered(listener: () => void): () => void {
    this.reRegisteredListeners.add(listener);
    return () => this.reRegisteredListeners.delete(listener);
  }

  /** Revokes the lease (the key disappears at once) and stops keep-alive. Idempotent. */
  deregister(): Promise<void> {
    this.ending ??= this.end(true);
    return this.ending;
  }

  /**
   * Stops keep-alive without revoking: the key lives until the TTL runs out,
   * as when the process dies. Used by Registry.close() and by tests.
   */
  abandon(): Promise<void> {
    this.ending ??= this.end(false);
    return this.ending;
  }

  private async end(revoke: boolean): Promise<void> {
    this.stopped.abort();
    this.setState({ registered: false, reason: revoke ? 'deregistered' : 'registration abandoned' });
    untrackRegistration(this);
    this.onEnd(this);
    // Let an in-flight re-registration finish first, so the lease we end is the last one.
    await this.worker;
    const lease = this.lease;
    this.lease = undefined;
    if (!lease) return;
    if (!revoke) {
      lease.release();
      return;
    }
    // Say we are leaving before the key goes, so watchers drop us at once
    // instead of waiting out their removal grace (service-watch.ts).
    await withTimeout(lease.put(this.key).value(JSON.stringify(leavingInfo(this.info))).exec(), LEAVING_PUT_TIMEOUT_MS).catch((err: unknown) =>
      this.log.debug({ key: this.key, err }, 'could not mark the registration as leaving'),
    );
    try {
      await lease.revoke();
      this.log.info({ key: this.key }, 'deregistered');
    } catch (err) {
      lease.release();
      this.log.warn({ key: this.key, err }, 'lease revoke failed; the key expires with its TTL');
    }
  }

  private onLost(lease: Lease, err: Error): void {
    if (lease !== this.lease || lease === this.acquiring || this.closed) return;
    this.log.warn({ key: this.key, err }, 'etcd lease lost; registering again');
    this.setState({ registered: false, reason: `etcd lease lost: ${err.message}` });
    leaseLosses.inc();
    this.lease = undefined;
    this.needLease = true;
    void this.kick();
  }

  private kick(): Promise<void> {
    this.worker ??= this.run().finally(() => {
      this.worker = undefined;
    });
    return this.worker;
  }

  /** Single writer: at most one grant or put in flight. Never rejects. */
  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.closed && (this.needLease || this.dirty)) {
      // Cleared before the write: an update arriving meanwhile sets it again.
      this.dirty = false;
      try {
        if (this.needLease || !this.lease) {
          await this.acquire();
          this.needLease = false;
          this.log.info({ key: this.key }, 're-registered');
          this.setState({ registered: true });
          reRegistrations.inc();
          this.notifyReRegistered();
        } else {
          await this.lease.put(this.key).value(JSON.stringify(this.info));
        }
        attempt = 0;
      } catch (err) {
        if (this.closed) break;
        this.dirty = true;
        const delay = backoffMs(attempt);
        attempt += 1;
        this.log.warn({ key: this.key, err, attempt, retryInMs: delay }, 'etcd registration write failed');
        await sleep(delay, this.stopped.signal);
      }
    }
  }

  private setState(next: RegistrationState): void {
    if (next.registered === this.state.registered && next.reason === this.state.reason) return;
    this.state = next;
    for (const listener of this.stateListeners) {
      try {
        listener(next);
      } catch (err) {
        this.log.error({ key: this.key, err }, 'registration state listener failed');
      }
    }
  }

  private notifyReRegistered(): void {
    for (const listener of this.reRegisteredListeners) {
      try {
        listener();
      } catch (err) {
        this.log.error({ key: this.key, err }, 're-registered listener failed');
      }
    }
  }

  /** Grants a new lease and puts the current value under it. */
  private async acquire(): Promise<void> {
    const lease = this.client.lease(this.ttlSec);
    this.acquiring = lease;
    this.lease = lease;
    lease.on('lost', (err) => this.onLost(lease, err));
    try {
      await lease.grant();
      await lease.put(this.key).value(JSON.stringify(this.info));
      // 'lost' during the put was not handled by onLost (acquiring), so check here.
      if (lease.revoked()) throw new Error('lease lost while registering');
    } catch (err) {
      // The lease may exist in etcd; without keep-alive it expires by itself.
      lease.release();
      if (this.lease === lease) this.lease = undefined;
      throw err;
    } finally {
      this.acquiring = undefined;
    }
  }
}

const LEAVING_PUT_TIMEOUT_MS = 1000;

/** The value put just before a deliberate deregistration: meta.leaving = 1 (isLeaving()). */
function leavingInfo(i: InstanceInfo): InstanceInfo {
  return { ...i, meta: { ...i.meta, [LEAVING_META_KEY]: 1 } };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function copyInfo(i: InstanceInfo): InstanceInfo {
  return { ...i, meta: { ...i.meta } };
}
