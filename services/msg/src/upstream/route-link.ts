import type * as grpc from '@grpc/grpc-js';
import { RouteService, tiertalk } from '@tiertalk/proto';
import type { DeliverReport, EnvelopeBatch, SessionBatch, SessionLoginRsp, SessionResults } from '@tiertalk/proto';
import { BatchedCalls, FlowControlledWriter, ReconnectBackoff, callWithFailover, openBidi } from '@tiertalk/rpc';
import type { InstancePool } from '@tiertalk/rpc';
import type { Logger } from '@tiertalk/log';
import type { RouteApi } from '../gateway-context';
import { sessionLoginProtocol, sessionLogoutProtocol } from './login-calls';
import { unaryCalls } from './unary-calls';

export interface RouteLinkOptions {
  /** Budget of one session login or logout, or unary call, including failover. */
  deadlineMs: number;
  /** Longest wait for a route to receive an envelope before its onHeld fires anyway (default 1000 ms). */
  holdWaitMs?: number;
  /** A batch is written at this many envelopes or on the next event-loop turn. */
  batchMax: number;
  logger: Logger;
}

const FAILOVER_ATTEMPTS = 3;
const DEFAULT_HOLD_WAIT_MS = 1000;
// How often envelopes whose hold wait ran out get their onHeld.
const HOLD_SWEEP_MS = 50;

/** An envelope on its way, with who waits for a route to hold it. */
interface Outgoing {
  readonly envelope: tiertalk.Envelope.$Properties;
  onHeld: (() => void) | undefined;
  /** Epoch ms after which onHeld fires even if no route received the envelope. */
  readonly holdBy: number;
}
// Envelopes kept for a resend while no route takes them; the oldest go first past this.
const MAX_HELD_ENVELOPES = 200_000;

interface DeliverStream {
  readonly instanceId: string;
  readonly call: grpc.ClientDuplexStream<EnvelopeBatch, DeliverReport>;
  /** Writes to `call`, holding batches while route does not read (back-pressure). */
  readonly writer: FlowControlledWriter<EnvelopeBatch>;
  /**
   * Envelopes written and not yet covered by a DeliverReport, oldest first.
   * route handles one stream's batches in order and reports each, so a report
   * of n envelopes covers the n oldest.
   */
  readonly unreported: Outgoing[];
  /** How many of the oldest `unreported` route said it received (DeliverReport.received). */
  received: number;
  finished: boolean;
}

/**
 * The gateway's side of route: session logins and logouts (batched on
 * LoginStream and LogoutStream, BatchedCalls) and one
 * long-lived Route.Deliver stream carrying envelope batches (ARCHITECTURE.md
 * step 5). An envelope is kept until route reported it handled; when the
 * stream fails, everything unreported is sent again to another (or the
 * returning) route instance, so a route killed mid-batch does not silence the
 * receivers. A resend can reach a gateway twice: the receiving gateway drops
 * a repeated message (gateway-service.ts, PushReceiver).
 */
export class RouteLink implements RouteApi {
  private readonly log: Logger;
  private active: DeliverStream | undefined;
  private batch: Outgoing[] = [];
  /** Envelopes with an onHeld not fired yet, oldest first (fired ones are skipped when swept). */
  private waitingHold: Outgoing[] = [];
  private holdSweep: NodeJS.Timeout | undefined;
  private pendingHolds = 0;
  private heldWaiters: Array<() => void> = [];
  private readonly holdWaitMs: number;
  private flushTimer: NodeJS.Immediate | undefined;
  /** Set while waiting before the next stream is opened (after a failure, or with no instance). */
  private reopenTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new ReconnectBackoff();
  private closed = false;
  private readonly logins: BatchedCalls<tiertalk.SessionRef.$Properties, number, SessionBatch, SessionResults, tiertalk.SessionResult>;
  private readonly logouts: BatchedCalls<tiertalk.SessionRef.$Properties, number, SessionBatch, SessionResults, tiertalk.SessionResult>;
  /** A route instance (re)appeared in etcd: try it now, not after the current backoff delay. */
  private readonly onInstanceAdded = (): void => {
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    this.backoff.reset();
    this.flush();
  };

  constructor(
    private readonly pool: InstancePool,
    private readonly opts: RouteLinkOptions,
  ) {
    this.log = opts.logger.child({ component: 'route-link' });
    this.holdWaitMs = opts.holdWaitMs ?? DEFAULT_HOLD_WAIT_MS;
    const calls = { deadlineMs: opts.deadlineMs, attempts: FAILOVER_ATTEMPTS, batchMax: opts.batchMax, logger: this.log };
    this.logins = new BatchedCalls(pool, sessionLoginProtocol, calls);
    this.logouts = new BatchedCalls(pool, sessionLogoutProtocol, calls);
    pool.on('added', this.onInstanceAdded);
  }

  /** Envelopes waiting for a route instance or for route's report. */
  get held(): number {
    let n = this.batch.length;
    if (this.active) n += this.active.unreported.length;
    return n;
  }

  /** Envelope batches written to a Deliver stream route is not reading, held until it drains (back-pressure). */
  get batchesAwaitingDrain(): number {
    return this.active?.writer.waiting ?? 0;
  }

  hasInstance(): boolean {
    return this.pool.size > 0;
  }

  /** Any unary Route method, with failover and a deadline. */
  call<Req, Res>(method: grpc.MethodDefinition<Req, Res>, req: Req): Promise<Res> {
    return unaryCalls.track(callWithFailover(this.pool, method, req, { deadlineMs: this.opts.deadlineMs, attempts: FAILOVER_ATTEMPTS }));
  }

  /** Registers a session, batched with the other logins of this turn on LoginStream (login-calls.ts). */
  async login(ref: tiertalk.SessionRef.$Properties): Promise<SessionLoginRsp> {
    return tiertalk.SessionLoginRsp.create({ kicked: await this.logins.call(ref) });
  }

  /** Removes a session, batched with the other logouts of this turn on LogoutStream. */
  async logout(ref: tiertalk.SessionRef.$Properties): Promise<void> {
    await this.logouts.call(ref);
  }

  deliver(envelope: tiertalk.Envelope.$Properties, onHeld?: () => void): void {
    if (this.closed) {
      this.log.debug({ cid: envelope.commandId }, 'route link closed: envelope dropped');
      onHeld?.();
      return;
    }
    const out: Outgoing = { envelope, onHeld: onHeld && this.countedHold(onHeld), holdBy: Date.now() + this.holdWaitMs };
    if (onHeld !== undefined) {
      this.waitingHold.push(out);
      this.holdSweep ??= setInterval(() => this.sweepHoldWaits(), HOLD_SWEEP_MS);
    }
    this.batch.push(out);
    if (this.batch.length >= this.opts.batchMax) this.flush();
    else this.flushTimer ??= setImmediate(() => this.flush());
  }

  /** Resolves true once no onHeld is pending (every waiting ACK went out), false after timeoutMs. */
  waitHeld(timeoutMs: number): Promise<boolean> {
    if (this.pendingHolds === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.heldWaiters = this.heldWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.heldWaiters.push(waiter);
    });
  }

  private countedHold(onHeld: () => void): () => void {
    this.pendingHolds += 1;
    return () => {
      this.pendingHolds -= 1;
      onHeld();
      if (this.pendingHolds === 0 && this.heldWaiters.length > 0) for (const w of this.heldWaiters.splice(0)) w();
    };
  }

  /** Writes what is batched, then ends the stream. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.logins.close();
    this.logouts.close();
    this.pool.off('added', this.onInstanceAdded);
    // Nobody waits for a hold at shutdown: the messages are stored.
    for (const out of this.waitingHold) fireHeld(out);
    this.waitingHold = [];
    clearInterval(this.holdSweep);
    this.holdSweep = undefined;
    clearTimeout(this.reopenTimer);
    this.reopenTimer = undefined;
    const stream = this.active;
    this.active = undefined;
    if (stream && !stream.finished) {
      stream.finished = true;
      stream.call.end();
    }
  }

  private flush(): void {
    clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    if (this.closed || this.batch.length === 0) return;
    const stream = this.reopenTimer === undefined ? this.streamForWrite() : undefined;
    if (!stream) {
      this.hold();
      return;
    }
    const items = this.batch;
    this.batch = [];
    for (const e of items) stream.unreported.push(e);
    try {
      stream.writer.write(tiertalk.EnvelopeBatch.create({ items: items.map((e) => tiertalk.Envelope.create(e.envelope)) }));
    } catch (err) {
      this.finishStream(stream, err);
    }
  }

  /** No route instance usable now: keep the envelopes (bounded) and try again after the backoff delay. */
  private hold(): void {
    // No route can take them now: their senders are ACKed without waiting (stored, and kept here for route).
    for (const out of this.batch) fireHeld(out);
    const over = this.batch.length - MAX_HELD_ENVELOPES;
    if (over > 0) {
      for (const dropped of this.batch.splice(0, over)) fireHeld(dropped);
      this.log.warn({ dropped: over, held: this.batch.length }, 'no route instance for too long: oldest live pushes dropped (receivers pull offline)');
    }
    if (this.reopenTimer || this.closed) return;
    const delayMs = this.backoff.next();
    this.log.debug({ held: this.batch.length, retryInMs: delayMs }, 'no usable route instance: live delivery held until one is back');
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      this.flush();
    }, delayMs);
    this.reopenTimer.unref();
  }

  private streamForWrite(): DeliverStream | undefined {
    const cur = this.active;
    if (cur && !cur.finished) return cur;
    this.active = undefined;
    const target = this.pool.pick();
    if (!target) return undefined;
    const call = openBidi(target.client, RouteService.Deliver);
    const stream: DeliverStream = { instanceId: target.id, call, writer: new FlowControlledWriter(call, (err) => this.finishStream(stream, err)), unreported: [], received: 0, finished: false };
    call.on('data', (report: DeliverReport) => {
      if (report.received) {
        const end = Math.min(stream.unreported.length, stream.received + report.received);
        for (let i = stream.received; i < end; i++) fireHeld(stream.unreported[i]);
        stream.received = end;
      }
      if (report.envelopes > 0) {
        stream.unreported.splice(0, report.envelopes);
        stream.received = Math.max(0, stream.received - report.envelopes);
      }
      // route handles what we send: the next failure starts from the shortest delay.
      this.backoff.reset();
    });
    call.on('error', (err: Error) => this.finishStream(stream, err));
    call.on('end', () => this.finishStream(stream, undefined));
    this.active = stream;
    this.log.info({ instance: target.id, addr: target.info.addr }, 'deliver stream opened');
    return stream;
  }

  /** onHeld of envelopes no route received within the hold wait (none reachable, or an old route). */
  private sweepHoldWaits(): void {
    const now = Date.now();
    let i = 0;
    for (; i < this.waitingHold.length; i++) {
      const out = this.waitingHold[i];
      if (out.onHeld !== undefined && out.holdBy > now) break;
      fireHeld(out);
    }
    if (i > 0) this.waitingHold.splice(0, i);
    if (this.waitingHold.length === 0) {
      clearInterval(this.holdSweep);
      this.holdSweep = undefined;
    }
  }

  private finishStream(stream: DeliverStream, err: unknown): void {
    if (stream.finished) return;
    stream.finished = true;
    if (this.active === stream) this.active = undefined;
    const resend = stream.unreported.splice(0);
    stream.received = 0;
    if (this.closed) {
      if (resend.length > 0) this.log.warn({ instance: stream.instanceId, unreported: resend.length }, 'deliver stream ended at shutdown with envelopes unreported');
      return;
    }
    this.pool.markFailed(stream.instanceId);
    this.log.warn({ instance: stream.instanceId, err, resending: resend.length }, 'deliver stream failed; resending what route did not report');
    // Ahead of what queued meanwhile, so each receiver still sees its messages in order.
    this.batch = resend.concat(this.batch);
    // Even with nothing held, wait out the delay: a dead only-instance is not hammered.
    this.hold();
  }
}

function fireHeld(out: Outgoing): void {
  const fn = out.onHeld;
  if (fn === undefined) return;
  out.onHeld = undefined;
  fn();
}
