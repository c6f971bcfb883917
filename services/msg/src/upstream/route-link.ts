import type * as grpc from '@grpc/grpc-js';
import { RouteService, tiertalk } from '@tiertalk/proto';
import type { DeliverReport, EnvelopeBatch, SessionLoginRsp } from '@tiertalk/proto';
import { callWithFailover, openBidi } from '@tiertalk/rpc';
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

interface DeliverStream {
  readonly instanceId: string;
  readonly call: grpc.ClientDuplexStream<EnvelopeBatch, DeliverReport>;
  /** Envelopes written and not yet covered by a DeliverReport. */
  unreported: number;
  finished: boolean;
}

/**
 * The gateway's side of route: session Login/Logout (unary, failover) and one
 * long-lived Route.Deliver stream carrying envelope batches (ARCHITECTURE.md
 * step 5). Live delivery is best effort: a lost envelope is recovered by the
 * receiver's offline pull, so nothing is retried.
 */
export class RouteLink implements RouteApi {
  private readonly log: Logger;
  private active: DeliverStream | undefined;
  private batch: tiertalk.Envelope.$Properties[] = [];
  private flushTimer: NodeJS.Immediate | undefined;
  private closed = false;

  constructor(
    private readonly pool: InstancePool,
    private readonly opts: RouteLinkOptions,
  ) {
    this.log = opts.logger.child({ component: 'route-link' });
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
    const items = this.batch;
    this.batch = [];
    if (items.length === 0) return;
    const stream = this.streamForWrite();
    if (!stream) {
      this.log.warn({ envelopes: items.length }, 'no route instance: live delivery skipped (receivers pull offline)');
      return;
    }
    stream.unreported += items.length;
    try {
      stream.call.write(tiertalk.EnvelopeBatch.create({ items: items.map((e) => tiertalk.Envelope.create(e)) }));
    } catch (err) {
      this.finishStream(stream, err);
    }
  }

  private streamForWrite(): DeliverStream | undefined {
    const cur = this.active;
    if (cur && !cur.finished) return cur;
    this.active = undefined;
    const target = this.pool.pick();
    if (!target) return undefined;
    const call = openBidi(target.client, RouteService.Deliver);
    const stream: DeliverStream = { instanceId: target.id, call, unreported: 0, finished: false };
    call.on('data', (report: DeliverReport) => {
      stream.unreported = Math.max(0, stream.unreported - report.envelopes);
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
    this.pool.markFailed(stream.instanceId);
    // Receivers see these only through their offline pull (unread + history).
    this.log.warn({ instance: stream.instanceId, err, possiblyLost: stream.unreported }, 'deliver stream failed');
  }
}
