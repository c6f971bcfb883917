import type * as grpc from '@grpc/grpc-js';
import { DbProxyService, IM, tiertalk } from '@tiertalk/proto';
import type { MsgStoreBatch, MsgStoredBatch, ValidateRsp } from '@tiertalk/proto';
import { callWithFailover, openBidi } from '@tiertalk/rpc';
import type { InstancePool } from '@tiertalk/rpc';
import type { Logger } from '@tiertalk/log';
import type { DbProxyApi, StoreOutcome } from '../gateway-context';

export interface DbProxyLinkOptions {
  /** Validate's failover budget and each stored item's deadline. */
  deadlineMs: number;
  /** A batch is written at this many items or on the next event-loop turn. */
  batchMax: number;
  logger: Logger;
}

const FAILOVER_ATTEMPTS = 3;

interface StoreStream {
  readonly instanceId: string;
  readonly call: grpc.ClientDuplexStream<MsgStoreBatch, MsgStoredBatch>;
  /** Written, not yet answered, by ref. */
  readonly pending: Map<number, Item>;
  /** db-proxy sent `stop`: no new batches here, replies still read. */
  draining: boolean;
  finished: boolean;
  lastReplyAt: number;
}

interface Item {
  readonly ref: number;
  readonly msg: IM.Message.IMMsgData.$Properties;
  readonly resolve: (o: StoreOutcome) => void;
  readonly timer: NodeJS.Timeout;
  stream: StoreStream | undefined;
  sentAt: number;
  done: boolean;
}

/**
 * The gateway's side of db-proxy: Validate (unary, failover) and one long-lived
 * DbProxy.StoreMessages stream carrying batches (ARCHITECTURE.md step 2).
 * A stored item is never retried elsewhere: the instance that lost the stream
 * may have committed it, and a second store would duplicate the message.
 */
export class DbProxyLink implements DbProxyApi {
  private readonly log: Logger;
  private active: StoreStream | undefined;
  private readonly streams = new Set<StoreStream>();
  private batch: Item[] = [];
  private flushTimer: NodeJS.Immediate | undefined;
  private lastRef = 0;
  private unsettled = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly pool: InstancePool,
    private readonly opts: DbProxyLinkOptions,
  ) {
    this.log = opts.logger.child({ component: 'db-proxy-link' });
  }

  hasInstance(): boolean {
    return this.pool.size > 0;
  }

  /** Items handed to store() and not yet answered. */
  get inFlight(): number {
    return this.unsettled;
  }

  validate(req: IM.Server.IMValidateReq.$Properties): Promise<ValidateRsp> {
    return callWithFailover(this.pool, DbProxyService.Validate, IM.Server.IMValidateReq.create(req), {
      deadlineMs: this.opts.deadlineMs,
      attempts: FAILOVER_ATTEMPTS,
    });
  }

  /** Any unary DbProxy method (a forwarded client request), with failover and a deadline. */
  call<Req, Res>(method: grpc.MethodDefinition<Req, Res>, req: Req): Promise<Res> {
    return callWithFailover(this.pool, method, req, { deadlineMs: this.opts.deadlineMs, attempts: FAILOVER_ATTEMPTS });
  }

  store(msg: IM.Message.IMMsgData.$Properties): Promise<StoreOutcome> {
    if (this.closed) return Promise.resolve(failed('gateway stopping'));
    return new Promise((resolve) => {
      const item: Item = {
        ref: this.allocRef(),
        msg,
        resolve,
        timer: setTimeout(() => this.expire(item), this.opts.deadlineMs),
        stream: undefined,
        sentAt: 0,
        done: false,
      };
      this.unsettled += 1;
      this.batch.push(item);
      if (this.batch.length >= this.opts.batchMax) this.flush();
      // One message never waits for others; a burst within one turn rides in one batch.
      else this.flushTimer ??= setImmediate(() => this.flush());
    });
  }

  /** Resolves true once nothing is in flight, false after timeoutMs (shutdown: let ACKs out). */
  waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.unsettled === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.push(waiter);
    });
  }

  /** Fails whatever is left and ends every stream. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    for (const item of this.batch) this.settle(item, failed('gateway stopping'));
    this.batch = [];
    for (const stream of [...this.streams]) {
      for (const item of [...stream.pending.values()]) this.settle(item, failed('gateway stopping'));
      stream.finished = true;
      stream.call.end();
    }
    this.streams.clear();
    this.active = undefined;
  }

  private flush(): void {
    clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    const items = this.batch.filter((i) => !i.done);
    this.batch = [];
    if (items.length === 0) return;
    const stream = this.streamForWrite();
    if (!stream) {
      this.log.warn({ items: items.length }, 'no db-proxy instance: messages not stored');
      for (const item of items) this.settle(item, failed('no db-proxy instance'));
      return;
    }
    const now = Date.now();
    for (const item of items) {
      item.stream = stream;
      item.sentAt = now;
      stream.pending.set(item.ref, item);
    }
    const batch = tiertalk.MsgStoreBatch.create({
      items: items.map((i) => tiertalk.MsgStoreItem.create({ ref: i.ref, msg: IM.Message.IMMsgData.create(i.msg) })),
    });
    try {
      stream.call.write(batch);
    } catch (err) {
      this.finishStream(stream, err);
    }
  }

  private streamForWrite(): StoreStream | undefined {
    const cur = this.active;
    if (cur && !cur.draining && !cur.finished) return cur;
    this.active = undefined;
    const target = this.pool.pick();
    if (!target) return undefined;
    const call = openBidi(target.client, DbProxyService.StoreMessages);
    const stream: StoreStream = {
      instanceId: target.id,
      call,
      pending: new Map(),
      draining: false,
      finished: false,
      lastReplyAt: Date.now(),
    };
    call.on('data', (replies: MsgStoredBatch) => this.onReplies(stream, replies));
    call.on('error', (err: Error) => this.finishStream(stream, err));
    call.on('end', () => this.finishStream(stream, undefined));
    this.streams.add(stream);
    this.active = stream;
    this.log.info({ instance: target.id, addr: target.info.addr }, 'store stream opened');
    return stream;
  }

  private onReplies(stream: StoreStream, replies: MsgStoredBatch): void {
    stream.lastReplyAt = Date.now();
    for (const r of replies.items) {
      const item = stream.pending.get(r.ref);
      if (!item) {
        // Its deadline already answered the client (no ACK); the message may be stored anyway.
        this.log.debug({ ref: r.ref, result: r.result }, 'late or unknown store reply');
        continue;
      }
      // TeamTalk drops a reply with msg_id 0 (flows.md §4 step 4.1).
      if (r.result === tiertalk.StoreResult.STORE_OK && r.msgId === 0) this.settle(item, failed('msg_id 0'));
      else if (r.result !== tiertalk.StoreResult.STORE_OK) this.settle(item, { result: r.result, msgId: 0, reason: r.reason || undefined });
      else this.settle(item, { result: r.result, msgId: r.msgId, memberIds: r.memberIds ?? undefined });
    }
    if (replies.stop && !stream.draining) {
      // flows.md §13: IMStopReceivePacket. Finish reading here, send new batches elsewhere.
      stream.draining = true;
      this.pool.markDraining(stream.instanceId);
      if (this.active === stream) this.active = undefined;
      this.log.info({ instance: stream.instanceId, inFlight: stream.pending.size }, 'db-proxy asked to stop; draining its stream');
    }
    if (stream.draining && stream.pending.size === 0 && !stream.finished) stream.call.end();
  }

  private finishStream(stream: StoreStream, err: unknown): void {
    if (stream.finished) return;
    stream.finished = true;
    this.streams.delete(stream);
    if (this.active === stream) this.active = undefined;
    const lost = stream.pending.size;
    for (const item of [...stream.pending.values()]) this.settle(item, failed('db-proxy stream ended'));
    if (stream.draining && lost === 0) {
      this.log.info({ instance: stream.instanceId }, 'drained store stream ended');
      return;
    }
    this.pool.markFailed(stream.instanceId);
    this.log.warn({ instance: stream.instanceId, err, failedItems: lost }, 'store stream failed; in-flight messages not acknowledged');
  }

  private expire(item: Item): void {
    if (item.done) return;
    const stream = item.stream;
    this.settle(item, failed('deadline exceeded'));
    // Nothing heard on the stream since this item went out: treat the stream as dead.
    if (stream && !stream.finished && stream.lastReplyAt < item.sentAt) {
      this.log.warn({ instance: stream.instanceId }, 'no store reply within the deadline; abandoning the stream');
      stream.call.cancel();
      this.finishStream(stream, new Error('store deadline exceeded'));
    }
  }

  private settle(item: Item, outcome: StoreOutcome): void {
    if (item.done) return;
    item.done = true;
    clearTimeout(item.timer);
    item.stream?.pending.delete(item.ref);
    this.unsettled -= 1;
    item.resolve(outcome);
    if (this.unsettled === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** u32, unique among the items in flight on one stream. */
  private allocRef(): number {
    this.lastRef = this.lastRef >= 0xffff_ffff ? 1 : this.lastRef + 1;
    return this.lastRef;
  }
}

function failed(reason: string): StoreOutcome {
  return { result: tiertalk.StoreResult.STORE_FAILED, msgId: 0, reason };
}
