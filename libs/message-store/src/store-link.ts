import { tiertalk, IM } from '@tiertalk/proto';
import { CorrelatedStream, ReconnectBackoff, isErrorCodeName } from '@tiertalk/rpc';
import type { ErrorCodeName } from '@tiertalk/rpc';
import type { InstancePool } from '@tiertalk/rpc';
import type { InstanceInfo } from '@tiertalk/registry';
import type { Logger } from '@tiertalk/log';
import { conversationKey } from './store-keys';
import { storeProtocol } from './store-stream';
import type { StoreStream, StreamItem } from './store-stream';

export interface StoreLinkOptions {
  /** How long a stored item is retried before the sender is refused (TT_STORE_DEADLINE_MS). */
  storeDeadlineMs: number;
  /** A batch is written at this many items or on the next event-loop turn. */
  batchMax: number;
  logger: Logger;
  /**
   * A stream whose oldest item has had no reply for this long, while another
   * stream answered after that item went out, is given up and its items sent
   * elsewhere. Default 3000 ms.
   */
  stallMs?: number;
}

/** What became of one message handed to StoreLink.store. */
export interface StoreOutcome {
  result: tiertalk.StoreResult;
  /** 0 unless STORE_OK. */
  msgId: number;
  /** For humans (logs); callers match `code`. */
  reason?: string;
  /** Unless STORE_OK: the catalogue code (docs/ERRORS.md, message_*), when db-proxy or this link named one. */
  code?: ErrorCodeName;
  /** Group messages: the members at store time (MsgStoredItem.member_ids), the fan-out's receivers. */
  memberIds?: readonly number[];
  /** How many times the item was written to a db-proxy stream. */
  attempts?: number;
}

/** Counters of the store path since start. */
export interface StoreStats {
  stored: number;
  /** STORE_REJECTED by db-proxy. */
  rejected: number;
  /** Not stored within the store deadline. */
  expired: number;
  /** Refused because the link was closing. */
  stopped: number;
  /** Items sent again after their stream failed. */
  resent: number;
  /** STORE_FAILED answers retried. */
  storageRetries: number;
  streamFailures: number;
}

const DEFAULT_STALL_MS = 3000;

interface Item extends StreamItem {
  readonly routeKey: string;
  readonly resolve: (o: StoreOutcome) => void;
  readonly timer: NodeJS.Timeout;
  stream: StoreStream<Item> | undefined;
  /** How many times it was written to a stream. */
  attempts: number;
  /** Why it is being retried (the last failure), for the refusal log. */
  lastFailure: string | undefined;
  done: boolean;
}

/** Reconnect state of one instance after its stream failed. */
interface Reopen {
  readonly backoff: ReconnectBackoff;
  /** Epoch ms before which no new stream is opened to it. */
  notBefore: number;
}

/**
 * The message store as a sender sees it (docs/RELIABILITY.md "A send always gets an
 * answer"): used by the msg gateway for its clients' messages and by http-api
 * for messages sent through the HTTP API, so both are stored alike. Each message goes, batched, on the StoreMessages stream of the
 * db-proxy instance its conversation hashes to (one stream per instance), with
 * an idempotency key that stays the same on every attempt. It is retried —
 * on another instance when a stream fails, stalls or drains, on the same one
 * with backoff when storage failed, whenever one is back when none is live —
 * until it is stored, refused (STORE_REJECTED, final) or its deadline passes.
 */
export class StoreLink {
  private readonly log: Logger;
  /** The writable stream of each instance. */
  private readonly streams = new Map<string, StoreStream<Item>>();
  /** Streams that got `stop`: read until they end. */
  private readonly drainingStreams = new Set<StoreStream<Item>>();
  private readonly reopen = new Map<string, Reopen>();
  /** To write on the next turn (new items, and re-sent ones in front). */
  private queue: Item[] = [];
  /** No instance usable, or storage failed: retried on the timer or when an instance is back. */
  private waiting: Item[] = [];
  private readonly retryBackoff = new ReconnectBackoff();
  private flushTimer: NodeJS.Immediate | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly stallMs: number;
  private readonly protocol = storeProtocol<Item>();
  private lastRef = 0;
  private unsettled = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  /** Wall-clock second of the last refusal summary, so an outage logs once per second, not per message. */
  private refusalLogSecond = 0;
  private readonly counts: StoreStats = { stored: 0, rejected: 0, expired: 0, stopped: 0, resent: 0, storageRetries: 0, streamFailures: 0 };
  private readonly onInstanceBack = (info: InstanceInfo): void => {
    // Seen back in etcd: the next attempt goes out now, not after its backoff.
    this.reopen.delete(info.id);
    if (this.waiting.length > 0) this.retryWaiting();
  };

  private readonly onInstanceGone = (id: string): void => {
    this.reopen.delete(id);
  };

  constructor(
    private readonly pool: InstancePool,
    private readonly opts: StoreLinkOptions,
  ) {
    this.log = opts.logger.child({ component: 'store-link' });
    this.stallMs = opts.stallMs ?? DEFAULT_STALL_MS;
    pool.on('added', this.onInstanceBack);
    pool.on('removed', this.onInstanceGone);
  }

  hasInstance(): boolean {
    return this.pool.size > 0;
  }

  /** Items handed to store() and not yet answered. */
  get inFlight(): number {
    return this.unsettled;
  }

  /** Batches written to streams whose db-proxy is not reading, held until they drain (back-pressure). */
  get batchesAwaitingDrain(): number {
    let n = 0;
    for (const stream of [...this.streams.values(), ...this.drainingStreams]) n += stream.waitingBatches;
    return n;
  }

  /** Counters since start (logged with every refusal). */
  get stats(): Readonly<StoreStats> {
    return this.counts;
  }

  /**
   * Stores one message, retried under the same idempotency key until stored,
   * rejected or past the store deadline. Never rejects.
   */
  store(msg: IM.Message.IMMsgData.$Properties, idemKey: string): Promise<StoreOutcome> {
    if (this.closed) return Promise.resolve(notStored('store link closed'));
    return new Promise((resolve) => {
      const item: Item = {
        ref: this.allocRef(),
        msg: IM.Message.IMMsgData.create(msg),
        idemKey,
        routeKey: conversationKey(msg),
        resolve,
        timer: setTimeout(() => this.expire(item), this.opts.storeDeadlineMs),
        stream: undefined,
        sentAt: 0,
        attempts: 0,
        lastFailure: undefined,
        done: false,
      };
      this.unsettled += 1;
      this.queue.push(item);
      if (this.queue.length >= this.opts.batchMax) this.flush();
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

  /** Refuses whatever is left (the senders get their answer) and ends every stream. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pool.off('added', this.onInstanceBack);
    this.pool.off('removed', this.onInstanceGone);
    clearImmediate(this.flushTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.stallTimer);
    const left = [...this.queue, ...this.waiting];
    this.queue = [];
    this.waiting = [];
    for (const stream of [...this.streams.values(), ...this.drainingStreams]) stream.end();
    this.streams.clear();
    this.drainingStreams.clear();
    for (const item of left) this.settleStopped(item);
  }

  private flush(): void {
    clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    if (this.closed) return;
    const items = this.queue.filter((i) => !i.done);
    this.queue = [];
    if (items.length === 0) return;
    const now = Date.now();
    const backingOff = new Set<string>();
    for (const [id, r] of this.reopen) if (r.notBefore > now) backingOff.add(id);
    const byInstance = new Map<string, Item[]>();
    for (const item of items) {
      const target = this.pool.pickByKey(item.routeKey, backingOff);
      if (!target) {
        this.waiting.push(item);
        continue;
      }
      const list = byInstance.get(target.id);
      if (list) list.push(item);
      else byInstance.set(target.id, [item]);
    }
    for (const [id, list] of byInstance) {
      const stream = this.streamTo(id);
      if (!stream) {
        this.waiting.push(...list);
        continue;
      }
      for (const item of list) {
        item.stream = stream;
        item.attempts += 1;
      }
      stream.write(list);
    }
    if (this.waiting.length > 0) this.scheduleRetry();
    this.armStallCheck();
  }

  private streamTo(instanceId: string): StoreStream<Item> | undefined {
    const cur = this.streams.get(instanceId);
    if (cur && !cur.finished && !cur.draining) return cur;
    const target = this.pool.get(instanceId);
    if (!target) return undefined;
    const stream: StoreStream<Item> = new CorrelatedStream(instanceId, target.client, this.protocol, {
      replies: (s, replies, stop) => this.onReplies(s, replies, stop),
      finished: (s, err, unanswered) => this.onFinished(s, err, unanswered),
    });
    this.streams.set(instanceId, stream);
    this.log.info({ instance: instanceId, addr: target.info.addr }, 'store stream opened');
    return stream;
  }

  private onReplies(stream: StoreStream<Item>, replies: Array<{ reply: tiertalk.MsgStoredItem.$Properties; item: Item | undefined }>, stop: boolean): void {
    // A reply proves the instance reachable again.
    this.reopen.get(stream.instanceId)?.backoff.reset();
    let storageFailed = false;
    for (const { reply: r, item } of replies) {
      if (!item || item.done) {
        // Its deadline already answered the sender; with the same key a resend gets this msg_id.
        this.log.debug({ ref: r.ref, result: r.result }, 'late store reply');
        continue;
      }
      item.stream = undefined;
      if (r.result === tiertalk.StoreResult.STORE_OK && r.msgId !== 0) {
        this.retryBackoff.reset();
        this.counts.stored += 1;
        this.settle(item, { result: r.result, msgId: r.msgId, memberIds: r.memberIds ?? undefined, attempts: item.attempts });
      } else if (r.result === tiertalk.StoreResult.STORE_FAILED) {
        // MySQL or Redis failed on db-proxy's side: try again (same key) after a backoff.
        item.lastFailure = `storage failed: ${r.reason || 'no reason given'}`;
        this.counts.storageRetries += 1;
        this.waiting.push(item);
        storageFailed = true;
      } else {
        // STORE_REJECTED, or an OK without an id (TeamTalk drops those, docs/FLOWS.md §4 step 4.1): final.
        this.counts.rejected += 1;
        const reason = r.result === tiertalk.StoreResult.STORE_OK ? 'stored without msg_id' : r.reason || 'rejected';
        const code = isErrorCodeName(r.code) ? r.code : undefined;
        this.settle(item, { result: tiertalk.StoreResult.STORE_REJECTED, msgId: 0, reason, ...(code ? { code } : {}), attempts: item.attempts });
      }
    }
    if (storageFailed) {
      this.log.warn({ instance: stream.instanceId, waiting: this.waiting.length }, 'db-proxy could not store; retrying with backoff');
      this.scheduleRetry();
    }
    if (stop) {
      // docs/FLOWS.md §13 IMStopReceivePacket: db-proxy finishes what it has; new items go elsewhere.
      this.streams.delete(stream.instanceId);
      this.drainingStreams.add(stream);
      this.pool.markDraining(stream.instanceId);
      this.log.info({ instance: stream.instanceId, inFlight: stream.pendingCount }, 'db-proxy asked to stop; draining its stream');
    }
  }

  private onFinished(stream: StoreStream<Item>, err: unknown, unanswered: Item[]): void {
    if (this.streams.get(stream.instanceId) === stream) this.streams.delete(stream.instanceId);
    this.drainingStreams.delete(stream);
    const resend = unanswered.filter((i) => !i.done);
    for (const item of resend) {
      item.stream = undefined;
      item.lastFailure = 'db-proxy stream ended';
    }
    if (this.closed) {
      for (const item of resend) this.settleStopped(item);
      return;
    }
    if (stream.draining && resend.length === 0) {
      this.log.info({ instance: stream.instanceId }, 'drained store stream ended');
      return;
    }
    this.counts.streamFailures += 1;
    this.counts.resent += resend.length;
    this.pool.markFailed(stream.instanceId);
    const r = this.reopen.get(stream.instanceId) ?? { backoff: new ReconnectBackoff(), notBefore: 0 };
    r.notBefore = Date.now() + r.backoff.next();
    this.reopen.set(stream.instanceId, r);
    this.log.warn({ instance: stream.instanceId, err, resending: resend.length }, 'store stream failed; resending its unanswered items');
    if (resend.length === 0) return;
    // Ahead of newer items, so a conversation's messages keep their order as far as possible.
    this.queue = resend.concat(this.queue);
    this.flushTimer ??= setImmediate(() => this.flush());
  }

  /** Waiting items go again after the next backoff delay (or at once when an instance is back). */
  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    let delay = this.retryBackoff.next();
    // Do not sleep past the moment a failed instance may be tried again.
    const now = Date.now();
    for (const r of this.reopen.values()) if (r.notBefore > now) delay = Math.min(delay, r.notBefore - now);
    const cooled = this.pool.nextRecoveryInMs();
    if (cooled !== undefined) delay = Math.min(delay, cooled + 1);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryWaiting();
    }, delay);
  }

  private retryWaiting(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const again = this.waiting.filter((i) => !i.done);
    this.waiting = [];
    if (again.length === 0) return;
    this.queue = again.concat(this.queue);
    this.flush();
  }

  /** While items are in flight, looks every second for a stream that went silent while others answer. */
  private armStallCheck(): void {
    if (this.stallTimer || this.closed) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      const busy = this.checkStalls();
      if (busy) this.armStallCheck();
    }, Math.min(1000, this.stallMs));
  }

  /** Abandons stalled streams; true while any stream still has items in flight. */
  private checkStalls(): boolean {
    const now = Date.now();
    const all = [...this.streams.values(), ...this.drainingStreams];
    let busy = false;
    for (const s of all) {
      const oldest = s.oldestSentAt();
      if (oldest === undefined) continue;
      busy = true;
      if (now - oldest < this.stallMs || s.lastReplyAt >= oldest) continue;
      const othersAnswer = all.some((o) => o !== s && o.lastReplyAt >= oldest);
      if (!othersAnswer) continue;
      this.log.warn({ instance: s.instanceId, silentMs: now - oldest }, 'store stream silent while others answer; abandoning it');
      s.abandon(new Error('no store reply while other instances answer'));
    }
    return busy;
  }

  private expire(item: Item): void {
    if (item.done) return;
    const stream = item.stream;
    this.counts.expired += 1;
    this.settle(item, notStored(`deadline exceeded after ${item.attempts} attempt(s)${item.lastFailure ? `; last: ${item.lastFailure}` : ''}`, item.attempts));
    // Nothing heard on its stream since the item went out: the stream is dead, its other items go elsewhere.
    if (stream && !stream.finished && stream.lastReplyAt < item.sentAt) {
      this.log.warn({ instance: stream.instanceId }, 'no store reply within the deadline; abandoning the stream');
      stream.abandon(new Error('store deadline exceeded'));
    }
  }

  private settleStopped(item: Item): void {
    if (item.done) return;
    this.counts.stopped += 1;
    this.settle(item, notStored('store link closed', item.attempts));
  }

  private settle(item: Item, outcome: StoreOutcome): void {
    if (item.done) return;
    if (outcome.result !== tiertalk.StoreResult.STORE_OK) this.logRefusals(outcome);
    item.done = true;
    clearTimeout(item.timer);
    item.stream?.forget(item);
    item.stream = undefined;
    this.unsettled -= 1;
    item.resolve(outcome);
    if (this.unsettled === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private logRefusals(outcome: StoreOutcome): void {
    const second = Math.floor(Date.now() / 1000);
    if (second === this.refusalLogSecond) return;
    this.refusalLogSecond = second;
    this.log.warn({ reason: outcome.reason, ...this.counts }, 'message not stored; the sender is refused (counts since start)');
  }

  /** u32, unique among the items in flight on the link (an item keeps its ref across attempts). */
  private allocRef(): number {
    this.lastRef = this.lastRef >= 0xffff_ffff ? 1 : this.lastRef + 1;
    return this.lastRef;
  }
}

function notStored(reason: string, attempts = 0): StoreOutcome {
  return { result: tiertalk.StoreResult.STORE_FAILED, msgId: 0, reason, code: 'message_storage_failed', attempts };
}
