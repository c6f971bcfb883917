import type * as grpc from '@grpc/grpc-js';
import { RouteService, tiertalk } from '@tiertalk/proto';
import type { DeliverReport, EnvelopeBatch, SessionLoginRsp } from '@tiertalk/proto';
import { ReconnectBackoff, callWithFailover, openBidi } from '@tiertalk/rpc';
import type { InstancePool } from '@tiertalk/rpc';
import type { Logger } from '@tiertalk/log';
import type { RouteApi } from '../gateway-context';

export interface RouteLinkOptions {
  /** Budget of one Login/Logout including failover. */
  deadlineMs: number;
  /** A batch is written at this many envelopes or on the next event-loop turn. */
  batchMax: number;
  logger: Logger;
}

const FAILOVER_ATTEMPTS = 3;
// Envelopes kept for a resend while no route takes them; the oldest go first past this.
const MAX_HELD_ENVELOPES = 200_000;

interface DeliverStream {
  readonly instanceId: string;
  readonly call: grpc.ClientDuplexStream<EnvelopeBatch, DeliverReport>;
  /**
   * Envelopes written and not yet covered by a DeliverReport, oldest first.
   * route handles one stream's batches in order and reports each, so a report
   * of n envelopes covers the n oldest.
   */
  readonly unreported: tiertalk.Envelope.$Properties[];
  finished: boolean;
}

/**
 * The gateway's side of route: session Login/Logout (unary, failover) and one
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
  private batch: tiertalk.Envelope.$Properties[] = [];
  private flushTimer: NodeJS.Immediate | undefined;
  /** Set while waiting before the next stream is opened (after a failure, or with no instance). */
  private reopenTimer: NodeJS.Timeout | undefined;
  private readonly backoff = new ReconnectBackoff();
  private closed = false;
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
    pool.on('added', this.onInstanceAdded);
  }

  /** Envelopes waiting for a route instance or for route's report. */
  get held(): number {
    let n = this.batch.length;
    if (this.active) n += this.active.unreported.length;
    return n;
  }

  hasInstance(): boolean {
    return this.pool.size > 0;
  }

  /** Any unary Route method, with failover and a deadline. */
  call<Req, Res>(method: grpc.MethodDefinition<Req, Res>, req: Req): Promise<Res> {
    return callWithFailover(this.pool, method, req, { deadlineMs: this.opts.deadlineMs, attempts: FAILOVER_ATTEMPTS });
  }

  login(ref: tiertalk.SessionRef.$Properties): Promise<SessionLoginRsp> {
    return callWithFailover(this.pool, RouteService.Login, tiertalk.SessionRef.create(ref), {
      deadlineMs: this.opts.deadlineMs,
      attempts: FAILOVER_ATTEMPTS,
    });
  }

  async logout(ref: tiertalk.SessionRef.$Properties): Promise<void> {
    await callWithFailover(this.pool, RouteService.Logout, tiertalk.SessionRef.create(ref), {
      deadlineMs: this.opts.deadlineMs,
      attempts: FAILOVER_ATTEMPTS,
    });
  }

  deliver(envelope: tiertalk.Envelope.$Properties): void {
    if (this.closed) {
      this.log.debug({ cid: envelope.commandId }, 'route link closed: envelope dropped');
      return;
    }
    this.batch.push(envelope);
    if (this.batch.length >= this.opts.batchMax) this.flush();
    else this.flushTimer ??= setImmediate(() => this.flush());
  }

  /** Writes what is batched, then ends the stream. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.pool.off('added', this.onInstanceAdded);
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
      stream.call.write(tiertalk.EnvelopeBatch.create({ items: items.map((e) => tiertalk.Envelope.create(e)) }));
    } catch (err) {
      this.finishStream(stream, err);
    }
  }

  /** No route instance usable now: keep the envelopes (bounded) and try again after the backoff delay. */
  private hold(): void {
    const over = this.batch.length - MAX_HELD_ENVELOPES;
    if (over > 0) {
      this.batch.splice(0, over);
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
    const stream: DeliverStream = { instanceId: target.id, call, unreported: [], finished: false };
    call.on('data', (report: DeliverReport) => {
      stream.unreported.splice(0, report.envelopes);
      // route handles what we send: the next failure starts from the shortest delay.
      this.backoff.reset();
    });
    call.on('error', (err: Error) => this.finishStream(stream, err));
    call.on('end', () => this.finishStream(stream, undefined));
    this.active = stream;
    this.log.info({ instance: target.id, addr: target.info.addr }, 'deliver stream opened');
    return stream;
  }

  private finishStream(stream: DeliverStream, err: unknown): void {
    if (stream.finished) return;
    stream.finished = true;
    if (this.active === stream) this.active = undefined;
    const resend = stream.unreported.splice(0);
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
