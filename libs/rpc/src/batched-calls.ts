import * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import type { ClientMethod } from './call';
import { CorrelatedStream, type BatchProtocol, type CorrelatedItem } from './correlated-stream';
import type { InstancePool } from './instance-pool';
import { ERROR_CATALOGUE, isErrorCodeName, serviceErrorOf } from './error-catalogue';
import { rpcError } from './status';

/** How one bidi method carries requests in batches and answers each by ref. */
export interface CallBatchProtocol<Req, Rsp, Batch, ReplyBatch, Reply> {
  readonly method: ClientMethod<Batch, ReplyBatch>;
  /** `deadline`: epoch ms after which the caller no longer waits (a server may skip the work then). */
  batchOf(items: ReadonlyArray<{ ref: number; req: Req; deadline: number }>): Batch;
  repliesOf(batch: ReplyBatch): readonly Reply[];
  refOf(reply: Reply): number;
  isStop(batch: ReplyBatch): boolean;
  /** The answer a reply carries, or the server's reason it could not answer (final, not retried). */
  outcomeOf(reply: Reply): { rsp: Rsp } | { error: string };
}

export interface BatchedCallsOptions {
  /** Budget of one call, retries on other instances included. */
  deadlineMs: number;
  /** Instances to try at most when streams break under a call. Default 3. */
  attempts?: number;
  /** A batch is written at this many calls or on the next event-loop turn. */
  batchMax: number;
  logger: Logger;
}

const DEFAULT_ATTEMPTS = 3;

/** The stream a call is in flight on, as the call sees it. */
interface StreamHandle<C> {
  readonly instanceId: string;
  readonly finished: boolean;
  readonly lastReplyAt: number;
  forget(call: C): void;
  abandon(reason: Error): void;
}

interface Call<Req, Rsp> extends CorrelatedItem {
  readonly req: Req;
  readonly deadline: number;
  readonly resolve: (rsp: Rsp) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
  /** Instances it was written to whose stream then broke. */
  readonly tried: Set<string>;
  stream: StreamHandle<Call<Req, Rsp>> | undefined;
  done: boolean;
}

/**
 * Request/reply calls carried in batches on one long-lived bidi stream per
 * instance, the way messages ride StoreMessages: calls made within one
 * event-loop turn go out in one batch, round-robin over the pool's instances
 * turn by turn, and each is answered by its ref. Every call is settled: by
 * its reply; by an error when the server could not answer it, when no
 * instance is left to try, or when its deadline passes. A call in flight on a
 * stream that breaks, stalls past the deadline or drains is sent again on
 * another instance (at most `attempts` in all), so methods carried this way
 * must tolerate a repeat, as with callWithFailover.
 */
export class BatchedCalls<Req, Rsp, Batch, ReplyBatch, Reply> {
  private readonly log: Logger;
  private readonly attempts: number;
  private readonly streams = new Map<string, CorrelatedStream<Call<Req, Rsp>, Batch, ReplyBatch, Reply>>();
  private readonly draining = new Set<CorrelatedStream<Call<Req, Rsp>, Batch, ReplyBatch, Reply>>();
  private readonly streamProtocol: BatchProtocol<Call<Req, Rsp>, Batch, ReplyBatch, Reply>;
  private queue: Array<Call<Req, Rsp>> = [];
  private flushTimer: NodeJS.Immediate | undefined;
  private lastRef = 0;
  private unsettled = 0;
  private closed = false;

  constructor(
    private readonly pool: InstancePool,
    private readonly protocol: CallBatchProtocol<Req, Rsp, Batch, ReplyBatch, Reply>,
    private readonly opts: BatchedCallsOptions,
  ) {
    this.log = opts.logger.child({ component: 'batched-calls', method: protocol.method.path });
    this.attempts = opts.attempts ?? DEFAULT_ATTEMPTS;
    this.streamProtocol = {
      method: protocol.method,
      batchOf: (items) => protocol.batchOf(items),
      repliesOf: (b) => protocol.repliesOf(b),
      refOf: (r) => protocol.refOf(r),
      isStop: (b) => protocol.isStop(b),
    };
  }

  /** Calls made and not settled yet. */
  get inFlight(): number {
    return this.unsettled;
  }

  call(req: Req): Promise<Rsp> {
    if (this.closed) return Promise.reject(rpcError(grpc.status.UNAVAILABLE, `${this.protocol.method.path}: caller stopping`));
    return new Promise<Rsp>((resolve, reject) => {
      const call: Call<Req, Rsp> = {
        ref: this.allocRef(),
        req,
        deadline: Date.now() + this.opts.deadlineMs,
        resolve,
        reject,
        timer: setTimeout(() => this.expire(call), this.opts.deadlineMs),
        tried: new Set(),
        stream: undefined,
        sentAt: 0,
        done: false,
      };
      this.unsettled += 1;
      this.queue.push(call);
      if (this.queue.length >= this.opts.batchMax) this.flush();
      // One call never waits for others; a burst within one turn rides in one batch.
      else this.flushTimer ??= setImmediate(() => this.flush());
    });
  }

  /** Fails what is left (each caller gets its answer) and ends every stream. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearImmediate(this.flushTimer);
    const left = this.queue;
    this.queue = [];
    for (const stream of [...this.streams.values(), ...this.draining]) stream.end();
    this.streams.clear();
    this.draining.clear();
    for (const call of left) this.fail(call, rpcError(grpc.status.UNAVAILABLE, `${this.protocol.method.path}: caller stopping`));
  }

  private flush(): void {
    clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    if (this.closed) return;
    const calls = this.queue.filter((c) => !c.done);
    this.queue = [];
    // Fresh calls share one instance per turn (round-robin across turns); a
    // retried call avoids the instances whose streams broke under it.
    const byInstance = new Map<string, Array<Call<Req, Rsp>>>();
    let fresh: string | undefined;
    for (const call of calls) {
      let id: string | undefined;
      if (call.tried.size === 0) id = fresh ??= this.pool.pick()?.id;
      else id = this.pool.pick(call.tried)?.id;
      const stream = id === undefined ? undefined : this.streamTo(id);
      if (stream === undefined) {
        this.fail(call, rpcError(grpc.status.UNAVAILABLE, `${this.protocol.method.path}: no instance left to try after ${call.tried.size}`));
        continue;
      }
      const list = byInstance.get(stream.instanceId);
      if (list) list.push(call);
      else byInstance.set(stream.instanceId, [call]);
    }
    for (const [id, list] of byInstance) {
      const stream = this.streams.get(id);
      if (stream === undefined) continue;
      for (const call of list) call.stream = stream;
      stream.write(list);
    }
  }

  private streamTo(instanceId: string): CorrelatedStream<Call<Req, Rsp>, Batch, ReplyBatch, Reply> | undefined {
    const cur = this.streams.get(instanceId);
    if (cur && !cur.finished && !cur.draining) return cur;
    const target = this.pool.get(instanceId);
    if (!target) return undefined;
    const stream = new CorrelatedStream(instanceId, target.client, this.streamProtocol, {
      replies: (s, replies, stop) => this.onReplies(s, replies, stop),
      finished: (s, err, unanswered) => this.onFinished(s, err, unanswered),
    });
    this.streams.set(instanceId, stream);
    this.log.info({ instance: instanceId, addr: target.info.addr }, 'call stream opened');
    return stream;
  }

  private onReplies(stream: CorrelatedStream<Call<Req, Rsp>, Batch, ReplyBatch, Reply>, replies: Array<{ reply: Reply; item: Call<Req, Rsp> | undefined }>, stop: boolean): void {
    for (const { reply, item: call } of replies) {
      if (!call || call.done) continue;
      call.stream = undefined;
      const outcome = this.protocol.outcomeOf(reply);
      if ('rsp' in outcome) this.settle(call, () => call.resolve(outcome.rsp));
      else this.fail(call, this.itemError(outcome.error));
    }
    if (stop) {
      // IMStopReceivePacket: the instance answers what it has; new calls go elsewhere.
      if (this.streams.get(stream.instanceId) === stream) this.streams.delete(stream.instanceId);
      this.draining.add(stream);
      this.pool.markDraining(stream.instanceId);
      this.log.info({ instance: stream.instanceId, inFlight: stream.pendingCount }, 'instance asked to stop; draining its call stream');
    }
  }

  private onFinished(stream: CorrelatedStream<Call<Req, Rsp>, Batch, ReplyBatch, Reply>, err: unknown, unanswered: Array<Call<Req, Rsp>>): void {
    if (this.streams.get(stream.instanceId) === stream) this.streams.delete(stream.instanceId);
    this.draining.delete(stream);
    const open = unanswered.filter((c) => !c.done);
    if (this.closed) {
      for (const call of open) this.fail(call, rpcError(grpc.status.UNAVAILABLE, `${this.protocol.method.path}: caller stopping`));
      return;
    }
    if (stream.draining && open.length === 0) return;
    this.pool.markFailed(stream.instanceId);
    this.log.warn({ instance: stream.instanceId, err, retrying: open.length }, 'call stream failed; its unanswered calls go to another instance');
    for (const call of open) {
      call.stream = undefined;
      call.tried.add(stream.instanceId);
      if (call.tried.size >= this.attempts) {
        this.fail(call, rpcError(grpc.status.UNAVAILABLE, `${this.protocol.method.path}: streams of ${call.tried.size} instance(s) broke under the call`));
      } else {
        this.queue.push(call);
      }
    }
    if (this.queue.length > 0) this.flushTimer ??= setImmediate(() => this.flush());
  }

  private expire(call: Call<Req, Rsp>): void {
    if (call.done) return;
    const stream = call.stream;
    this.fail(call, rpcError(grpc.status.DEADLINE_EXCEEDED, `${this.protocol.method.path}: no answer within ${this.opts.deadlineMs} ms`));
    // Nothing heard on its stream since the call went out: the stream is dead, its other calls go elsewhere.
    if (stream && !stream.finished && stream.lastReplyAt < call.sentAt) {
      this.log.warn({ instance: stream.instanceId }, 'no reply within the deadline; abandoning the call stream');
      stream.abandon(new Error('call deadline exceeded'));
    }
  }

  /** A per-item error: a catalogue code answers like the unary call would have; other text (an older peer) is INTERNAL. */
  private itemError(error: string): grpc.ServiceError {
    const path = this.protocol.method.path;
    return isErrorCodeName(error) ? serviceErrorOf(error, `${path}: ${ERROR_CATALOGUE[error].meaning}`) : rpcError(grpc.status.INTERNAL, `${path}: ${error}`);
  }

  private fail(call: Call<Req, Rsp>, err: Error): void {
    this.settle(call, () => call.reject(err));
  }

  private settle(call: Call<Req, Rsp>, answer: () => void): void {
    if (call.done) return;
    call.done = true;
    clearTimeout(call.timer);
    call.stream?.forget(call);
    call.stream = undefined;
    this.unsettled -= 1;
    answer();
  }

  /** u32, unique among the calls in flight (a call keeps its ref across attempts). */
  private allocRef(): number {
    this.lastRef = this.lastRef >= 0xffff_ffff ? 1 : this.lastRef + 1;
    return this.lastRef;
  }
}
