import { randomBytes } from 'node:crypto';
import type { RedisClient } from '@tiertalk/redis';
import type { Logger } from '@tiertalk/log';
import type { SessionStore } from './session-store';

/** What the epoch watch needs from GatewayLinks. */
export interface ResyncRequester {
  /** Sends PushBatch{resync_sessions} to every live gateway; returns their session gateway ids. */
  requestSessionResync(): string[];
}

export interface RegistryEpochOptions {
  redis: RedisClient;
  store: SessionStore;
  links: ResyncRequester;
  logger: Logger;
  /** How often the epoch key is checked. */
  checkIntervalMs?: number;
  /** Longest time deliveries wait for the gateways' resync (or for Redis to come back). */
  maxWaitMs?: number;
}

const DEFAULT_CHECK_INTERVAL_MS = 1_000;
const DEFAULT_MAX_WAIT_MS = 5_000;
// How often the resync's progress (gateways synced in the new epoch) is read.
const PROGRESS_POLL_MS = 50;

/**
 * Detects that the session registry's Redis lost its data (it keeps nothing on
 * disk) and has it rebuilt. The registry holds an epoch key, set once with a
 * random value; when it is missing or differs from the one this route knew,
 * every session is gone: this route sets a new epoch (or adopts the one
 * another route just set) and asks every live gateway to list its sessions
 * (Route.SyncSessions). Until they all did (bounded by maxWaitMs), and while
 * Redis is disconnected, whenRegistryReady() holds deliveries back, so they
 * are not looked up in an empty registry.
 */
export class RegistryEpoch {
  private known: string | undefined;
  private ready = true;
  private waiters: (() => void)[] = [];
  private giveUpTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private checkAgain = false;
  private closed = false;
  private failedChecks = 0;
  private readonly log: Logger;
  private readonly checkIntervalMs: number;
  private readonly maxWaitMs: number;
  // Held once per outage: ioredis reports 'close' again after every failed reconnect.
  private redisDown = false;
  private holdCount = 0;
  private readonly onClose = (): void => {
    if (this.redisDown) return;
    this.redisDown = true;
    this.hold('session redis disconnected');
  };
  private readonly onReady = (): void => {
    this.redisDown = false;
    // Held again before anything can read the reconnected Redis: the outage's
    // hold may have run out, and an empty registry must not answer a lookup
    // before the epoch check has asked the gateways to list their sessions.
    this.hold('session redis reconnected; checking its epoch');
    void this.check();
  };

  constructor(private readonly opts: RegistryEpochOptions) {
    this.log = opts.logger.child({ component: 'registry-epoch' });
    this.checkIntervalMs = opts.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS;
    this.maxWaitMs = opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  }

  /** The epoch this route works in (undefined before the first successful check). */
  get epoch(): string | undefined {
    return this.known;
  }

  /**
   * Checks now, then every checkIntervalMs and whenever ioredis reconnects.
   * Deliveries wait for the first check (bounded). Call once the route
   * serves: a resync needs the gateways to reach it.
   */
  start(): void {
    this.opts.redis.on('close', this.onClose);
    this.opts.redis.on('ready', this.onReady);
    this.checkTimer = setInterval(() => void this.check(), this.checkIntervalMs);
    this.checkTimer.unref();
    this.hold('first registry epoch check');
    void this.check();
  }

  /** How many times deliveries were held so far (RegistryReadiness.holds). */
  get holds(): number {
    return this.holdCount;
  }

  /** Resolves at once while the registry is usable; otherwise when it is again, or when the wait bound passes. */
  whenRegistryReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** RegistryReadiness.recheck: a lookup saw another epoch; check (and resync) at once. */
  recheck(): void {
    void this.check();
  }

  /** Checks the epoch now (coalesced with a check in progress). Never rejects. */
  check(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.checking) {
      this.checkAgain = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.checkAgain = false;
        await this.checkOnce();
      } while (this.checkAgain && !this.closed);
    })().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.checkTimer);
    this.opts.redis.off('close', this.onClose);
    this.opts.redis.off('ready', this.onReady);
    this.release();
  }

  private async checkOnce(): Promise<void> {
    let current: string | null;
    let claimed = false;
    try {
      current = await this.opts.store.readEpoch();
      if (current === null) {
        const mine = randomBytes(8).toString('hex');
        claimed = await this.opts.store.claimEpoch(mine);
        current = claimed ? mine : await this.opts.store.readEpoch();
        if (current === null) return;
      }
      this.failedChecks = 0;
    } catch (err) {
      // Redis unreachable: 'close' already holds deliveries; the next check or 'ready' tries again.
      this.failedChecks += 1;
      if (this.failedChecks === 1 || this.failedChecks % 30 === 0) this.log.warn({ err, failed: this.failedChecks }, 'registry epoch check failed');
      return;
    }
    if (current === this.known) {
      // Redis came back with its data (a disconnect, not a loss).
      this.release();
      return;
    }
    const previous = this.known;
    this.known = current;
    // A route starting against an existing registry has lost nothing; one that
    // had to create the epoch may face a registry lost while no route ran.
    if (previous === undefined && !claimed) {
      this.log.info({ epoch: current }, 'session registry epoch adopted');
      this.release();
      return;
    }
    await this.resync(current, previous);
  }

  /** Asks every live gateway for its sessions and holds deliveries until they synced in `epoch` (bounded). */
  private async resync(epoch: string, previous: string | undefined): Promise<void> {
    this.hold('session registry resync');
    const asked = this.opts.links.requestSessionResync();
    this.log.warn({ epoch, previous, gateways: asked.length }, 'session registry lost: gateways asked to sync their sessions');
    const deadline = Date.now() + this.maxWaitMs;
    let pending = asked;
    while (pending.length > 0 && Date.now() < deadline && !this.closed && this.known === epoch) {
      try {
        const synced = await this.opts.store.syncedGateways(epoch, pending);
        pending = pending.filter((id) => !synced.has(id));
      } catch (err) {
        this.log.debug({ err }, 'resync progress check failed');
      }
      if (pending.length > 0) await new Promise((r) => setTimeout(r, PROGRESS_POLL_MS));
    }
    if (pending.length > 0) this.log.warn({ epoch, pending }, 'gateways did not sync in time; deliveries go on (the periodic sync restores them)');
    else this.log.info({ epoch, gateways: asked.length }, 'session registry rebuilt');
    if (this.known === epoch) this.release();
  }

  /** Deliveries wait from now until release() or maxWaitMs. */
  private hold(reason: string): void {
    if (this.closed) return;
    this.holdCount += 1;
    if (this.ready) this.log.info({ reason }, 'deliveries held until the session registry is ready');
    this.ready = false;
    clearTimeout(this.giveUpTimer);
    this.giveUpTimer = setTimeout(() => this.release(), this.maxWaitMs);
    this.giveUpTimer.unref();
  }

  private release(): void {
    clearTimeout(this.giveUpTimer);
    this.giveUpTimer = undefined;
    this.ready = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
