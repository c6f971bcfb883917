import type { Logger } from '@tiertalk/log';
import { IM, clientClassName, decryptContent, isSingleMsgType, tiertalk } from '@tiertalk/proto';
import type { PushStream, QueuedPush } from './push-stream';
import type { HeldPush, HeldPushSink } from './stream-consumer';
import { postJson } from './webhook-poster';
import type { PostOutcome } from './webhook-poster';

const { MESSAGE_KIND_SINGLE } = tiertalk.MessageKind;

/** Device tokens of users (db-proxy GetDeviceToken in production: ./db-proxy-tokens.ts). */
export interface TokenSource {
  tokensOf(userIds: readonly number[]): Promise<IM.BaseDefine.UserTokenInfo.$Properties[]>;
}

/** What route's Deliver path hands over; must return at once. */
export interface OfflinePushSink {
  /** The batch's envelopes and who of their receivers has a session (receivers absent from the map have none). */
  offer(envelopes: readonly tiertalk.Envelope.$Properties[], sessions: ReadonlyMap<number, readonly unknown[]>): void;
}

export interface OfflinePushOptions {
  webhookUrl: string;
  tokens: TokenSource;
  logger: Logger;
  /** Messages held at once (waiting for tokens, for a POST, or for a retry); more are dropped and counted. */
  queueMax: number;
  /** POST attempts per event, the first included. */
  maxAttempts: number;
  /** First retry delay; doubled per attempt (with ±20 % jitter), at most retryMaxMs. */
  retryBaseMs: number;
  retryMaxMs: number;
  timeoutMs: number;
  /** POSTs in flight at once. */
  concurrency: number;
  /** Receivers per token lookup. */
  lookupBatchMax: number;
  /** TeamTalk's shared text key (TT_AES_KEY): when set, `flash` carries the decrypted text. */
  aesKey?: string;
  /**
   * The durable queue (Redis Stream, ./push-stream.ts): offered pushes are
   * appended there and come back through take() from whichever route
   * instance reads them. Without it, or when an append fails, they are kept
   * in this process's memory.
   */
  durable?: Pick<PushStream, 'append'>;
}

/** The JSON document POSTed (content-type application/json) per offline message; any 2xx accepts it. */
export interface OfflinePushEvent {
  type: 'message';
  toUserId: number;
  fromUserId: number;
  msgId: number;
  msgType: number;
  createTime: number;
  /**
   * The class of the connection the sender sent it from ("pc" or "mobile"), for a line like
   * "sent from phone"; absent when no client connection sent it (HTTP API) or it is not known.
   */
  fromClientClass?: 'pc' | 'mobile';
  /** The banner text: the decrypted text (with TT_AES_KEY), "[voice]" for audio; absent otherwise. */
  flash?: string;
  tokens: Array<{ token: string; clientType: number; pushType: number; pushCount: number }>;
}

export interface OfflinePushStats {
  offered: number;
  posted: number;
  /** Given up: attempts exhausted, refused by the webhook, or tokens not available. */
  failed: number;
  /** Queue full (or shutdown): never attempted. */
  dropped: number;
  /** Receiver has no pushable token: nothing to send. */
  withoutToken: number;
  /** Appended to the durable queue. */
  queued: number;
  /** Removed from the durable queue by its bound (TT_PUSH_QUEUE_MAX) before anyone posted them. */
  trimmed: number;
  /** Batches not appended to the durable queue (Redis unreachable or too slow): kept in memory instead. */
  queueErrors: number;
}

/**
 * A push to resolve and post. One read from the durable queue carries its
 * entry id and `done`, which acknowledges the entry once posted or given up.
 */
export interface PushItem extends QueuedPush {
  streamId?: string;
  done?: () => void;
}

interface PendingPost {
  event: OfflinePushEvent;
  json: string;
  attempts: number;
  item: PushItem;
}

const AUDIO_FLASH = '[voice]';
const FLASH_MAX_CHARS = 256;
const DROP_LOG_INTERVAL_MS = 5000;
const QUEUE_ERROR_LOG_INTERVAL_MS = 5000;

/**
 * docs/FLOWS.md §4 step 4.6 / docs/FLOWS.md §14 N3, as a webhook instead of TeamTalk's push
 * server: a 1:1 message whose receiver has no session anywhere becomes one
 * JSON POST to TT_PUSH_WEBHOOK_URL carrying the receiver's device tokens.
 * Nothing here runs on the Deliver path but `offer()` (a filter, and a
 * fire-and-forget append to the durable queue or a push to the bounded
 * in-memory one); token lookups are batched, POSTs bounded in concurrency
 * and retried with exponential backoff; everything dropped is counted and
 * logged.
 */
export class OfflinePushNotifier implements OfflinePushSink, HeldPushSink {
  private readonly log: Logger;
  private incoming: PushItem[] = [];
  /** The batch whose tokens are being fetched. */
  private resolving: PushItem[] = [];
  private lookupRunning = false;
  private lookupScheduled: NodeJS.Immediate | undefined;
  private readonly ready: PendingPost[] = [];
  private readonly inFlight = new Set<PendingPost>();
  private readonly retrying = new Map<NodeJS.Timeout, PendingPost>();
  /** Pushes in appends to the durable queue not answered yet, and those appends. */
  private appending = 0;
  private readonly appends = new Set<Promise<void>>();
  private lastQueueErrorLog = 0;
  private readonly cancel = new AbortController();
  private closed = false;
  private droppedSinceLog = 0;
  private lastDropLog = 0;
  private idleWaiters: Array<() => void> = [];
  readonly stats: OfflinePushStats = { offered: 0, posted: 0, failed: 0, dropped: 0, withoutToken: 0, queued: 0, trimmed: 0, queueErrors: 0 };

  constructor(private readonly opts: OfflinePushOptions) {
    this.log = opts.logger.child({ component: 'offline-push' });
  }

  /** Messages held: being appended to the durable queue, waiting for tokens, for a POST slot, in flight, or waiting to be retried. */
  get backlog(): number {
    return this.appending + this.incoming.length + this.resolving.length + this.ready.length + this.inFlight.size + this.retrying.size;
  }

  offer(envelopes: readonly tiertalk.Envelope.$Properties[], sessions: ReadonlyMap<number, readonly unknown[]>): void {
    if (this.closed) return;
    const pushes: QueuedPush[] = [];
    for (const env of envelopes) {
      if (env.kind !== MESSAGE_KIND_SINGLE) continue;
      const toUserId = env.toSessionId ?? 0;
      if (toUserId <= 0 || (sessions.get(toUserId)?.length ?? 0) > 0) continue;
      const push: QueuedPush = { toUserId, body: env.body };
      // Decoded envelopes read an unset class as 0 (ANY): nothing to keep.
      if (env.fromClientClass) push.fromClientClass = env.fromClientClass;
      pushes.push(push);
    }
    if (pushes.length === 0) return;
    this.stats.offered += pushes.length;
    if (!this.opts.durable) {
      this.keepInMemory(pushes);
    } else if (this.appending + pushes.length > this.opts.queueMax) {
      // Appends stuck on a slow Redis are bounded too: past queueMax, memory takes over.
      this.noteQueueBypass(pushes.length, 'offline-push queue too slow: batch kept in memory');
      this.keepInMemory(pushes);
    } else {
      this.append(this.opts.durable, pushes);
    }
  }

  /** Entries read from the durable queue (stream-consumer.ts), bounded by its reader. */
  take(pushes: HeldPush[]): void {
    if (this.closed || pushes.length === 0) return;
    this.incoming.push(...pushes);
    this.lookupScheduled ??= setImmediate(() => this.runLookups());
  }

  /** One pipeline per Deliver batch, never awaited by it; a failed append keeps the batch in memory. */
  private append(durable: Pick<PushStream, 'append'>, pushes: QueuedPush[]): void {
    this.appending += pushes.length;
    const appended = durable
      .append(pushes)
      .then(
        (trimmed) => {
          this.appending -= pushes.length;
          this.stats.queued += pushes.length;
          if (trimmed > 0) {
            this.stats.trimmed += trimmed;
            this.log.warn({ trimmed, total: this.stats.trimmed, queueMax: this.opts.queueMax }, 'offline pushes trimmed from the queue before delivery');
          }
          this.checkIdle();
        },
        (err: unknown) => {
          this.appending -= pushes.length;
          this.noteQueueBypass(pushes.length, 'offline-push queue unreachable: batch kept in memory', err);
          this.keepInMemory(pushes);
          this.checkIdle();
        },
      )
      .catch((err: unknown) => this.log.error({ err }, 'offline push append handling failed'))
      .finally(() => this.appends.delete(appended));
    this.appends.add(appended);
  }

  /** Resolves once every append started so far was answered (shutdown: before stop()). */
  async appendsSettled(): Promise<void> {
    await Promise.all([...this.appends]);
  }

  /** Counted always; logged at most every few seconds. */
  private noteQueueBypass(pushes: number, msg: string, err?: unknown): void {
    this.stats.queueErrors += 1;
    const now = Date.now();
    if (now - this.lastQueueErrorLog < QUEUE_ERROR_LOG_INTERVAL_MS) return;
    this.lastQueueErrorLog = now;
    this.log.warn({ err, pushes, errors: this.stats.queueErrors }, msg);
  }

  private keepInMemory(pushes: readonly QueuedPush[]): void {
    if (this.closed) {
      this.noteDropped(pushes.length, true);
      return;
    }
    let added = 0;
    for (const push of pushes) {
      if (this.backlog >= this.opts.queueMax) {
        this.noteDropped(1);
        continue;
      }
      this.incoming.push(push);
      added += 1;
    }
    if (added > 0) this.lookupScheduled ??= setImmediate(() => this.runLookups());
  }

  /** Resolves once nothing is held (tests, shutdown). */
  idle(): Promise<void> {
    if (this.backlog === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops: in-flight POSTs are aborted, waiting in-memory events dropped
   * (counted). Events from the durable queue are not acknowledged: they stay
   * pending in Redis for another route instance. Idempotent.
   */
  close(): void {
    const unfinished = this.stop();
    const inMemory = unfinished.filter((item) => item.streamId === undefined).length;
    if (inMemory > 0) this.noteDropped(inMemory, true);
    this.log.info({ ...this.stats, leftQueued: unfinished.length - inMemory }, 'offline push stopped');
  }

  /**
   * Stops like close() but decides nothing: returns every push not finished
   * (waiting, being resolved, in flight or waiting for a retry) so the caller
   * can hand them over (start-offline-push.ts). Empty once stopped.
   */
  stop(): PushItem[] {
    if (this.closed) return [];
    this.closed = true;
    clearImmediate(this.lookupScheduled);
    this.lookupScheduled = undefined;
    for (const timer of this.retrying.keys()) clearTimeout(timer);
    const posts = [...this.ready, ...this.inFlight, ...this.retrying.values()];
    const unfinished = [...this.incoming, ...this.resolving, ...posts.map((p) => p.item)];
    this.retrying.clear();
    this.inFlight.clear();
    this.incoming = [];
    this.resolving = [];
    this.ready.length = 0;
    this.cancel.abort();
    this.checkIdle();
    return unfinished;
  }

  /** Pushes lost outside the notifier (a failed hand-over at shutdown): counted and logged as dropped. */
  countDropped(n: number): void {
    if (n > 0) this.noteDropped(n, true);
  }

  private runLookups(): void {
    this.lookupScheduled = undefined;
    if (this.lookupRunning || this.closed) return;
    this.lookupRunning = true;
    this.lookupLoop()
      .catch((err: unknown) => this.log.error({ err }, 'offline push lookup failed'))
      .finally(() => {
        this.lookupRunning = false;
        this.resolving = [];
        if (this.incoming.length > 0 && !this.closed) this.lookupScheduled ??= setImmediate(() => this.runLookups());
        this.checkIdle();
      });
  }

  private async lookupLoop(): Promise<void> {
    while (this.incoming.length > 0 && !this.closed) {
      const batch = this.incoming.splice(0, this.opts.lookupBatchMax);
      this.resolving = batch;
      const messages: Array<{ msg: IM.Message.IMMsgData; item: PushItem }> = [];
      for (const item of batch) {
        const msg = this.decode(item);
        if (msg) messages.push({ msg, item });
        else item.done?.();
      }
      const receivers = [...new Set(messages.map(({ msg }) => msg.toSessionId))];
      let tokens: IM.BaseDefine.UserTokenInfo.$Properties[] = [];
      if (receivers.length > 0) {
        try {
          tokens = await this.opts.tokens.tokensOf(receivers);
        } catch (err) {
          // Stopped meanwhile: stop() took this batch over.
          if (this.closed) break;
          this.stats.failed += messages.length;
          this.log.warn({ err, messages: messages.length }, 'device tokens unavailable: offline pushes not sent');
          for (const { item } of messages) item.done?.();
          this.resolving = [];
          continue;
        }
      }
      if (this.closed) break;
      const byUser = new Map<number, IM.BaseDefine.UserTokenInfo.$Properties[]>();
      for (const t of tokens) {
        const list = byUser.get(t.userId);
        if (list) list.push(t);
        else byUser.set(t.userId, [t]);
      }
      for (const { msg, item } of messages) {
        // TeamTalk never pushes a user's own message to that user.
        const own = (byUser.get(msg.toSessionId) ?? []).filter((t) => t.userId !== msg.fromUserId);
        if (own.length === 0) {
          this.stats.withoutToken += 1;
          item.done?.();
          continue;
        }
        const event = this.eventOf(msg, own, item.fromClientClass);
        this.ready.push({ event, json: JSON.stringify(event), attempts: 0, item });
      }
      this.resolving = [];
      this.pumpPosts();
    }
  }

  /**
   * The stored IMMsgData; only 1:1 messages addressed to the envelope's receiver are pushed here.
   * Decoded (once, off the Deliver path) because the webhook event carries the message itself:
   * its type, time and the flash text of its content. The checks guard entries of the durable
   * queue, which outlive the process that wrote them.
   */
  private decode(c: PushItem): IM.Message.IMMsgData | undefined {
    let msg: IM.Message.IMMsgData;
    try {
      msg = IM.Message.IMMsgData.decode(c.body);
    } catch (err) {
      this.log.warn({ err, toUserId: c.toUserId }, 'undecodable CID_MSG_DATA envelope: no offline push');
      return undefined;
    }
    // Group messages are fanned out to members elsewhere; their push is not served yet.
    if (!isSingleMsgType(msg.msgType) || msg.toSessionId !== c.toUserId) return undefined;
    return msg;
  }

  private eventOf(msg: IM.Message.IMMsgData, tokens: IM.BaseDefine.UserTokenInfo.$Properties[], fromClientClass: number | undefined): OfflinePushEvent {
    const event: OfflinePushEvent = {
      type: 'message',
      toUserId: msg.toSessionId,
      fromUserId: msg.fromUserId,
      msgId: msg.msgId,
      msgType: msg.msgType,
      createTime: msg.createTime,
      tokens: tokens.map((t) => ({ token: t.token, clientType: t.userType, pushType: t.pushType, pushCount: t.pushCount })),
    };
    const sentFrom = clientClassName(fromClientClass);
    if (sentFrom !== undefined) event.fromClientClass = sentFrom;
    const flash = this.flashOf(msg);
    if (flash !== undefined) event.flash = flash;
    return event;
  }

  private flashOf(msg: IM.Message.IMMsgData): string | undefined {
    if (msg.msgType === IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_AUDIO) return AUDIO_FLASH;
    if (this.opts.aesKey === undefined) return undefined;
    const text = decryptContent(msg.msgData, this.opts.aesKey);
    if (text === undefined) return undefined;
    const chars = [...text];
    return chars.length > FLASH_MAX_CHARS ? chars.slice(0, FLASH_MAX_CHARS).join('') : text;
  }

  private pumpPosts(): void {
    while (!this.closed && this.inFlight.size < this.opts.concurrency && this.ready.length > 0) {
      const post = this.ready.shift();
      if (post) this.send(post).catch((err: unknown) => this.log.error({ err }, 'offline push send failed'));
    }
    this.checkIdle();
  }

  private async send(post: PendingPost): Promise<void> {
    this.inFlight.add(post);
    post.attempts += 1;
    let outcome: PostOutcome;
    try {
      outcome = await postJson(this.opts.webhookUrl, post.json, this.opts.timeoutMs, this.cancel.signal);
    } finally {
      this.inFlight.delete(post);
    }
    // Stopped meanwhile: stop() already took this push over (dropped, left queued or handed over).
    if (this.closed) return;
    const { event } = post;
    if (outcome.kind === 'ok') {
      this.stats.posted += 1;
      post.item.done?.();
      this.log.debug({ toUserId: event.toUserId, msgId: event.msgId, attempts: post.attempts }, 'offline push posted');
    } else if (outcome.kind === 'retry' && post.attempts < this.opts.maxAttempts) {
      this.scheduleRetry(post);
    } else {
      this.stats.failed += 1;
      post.item.done?.();
      this.log.warn(
        { toUserId: event.toUserId, fromUserId: event.fromUserId, msgId: event.msgId, attempts: post.attempts, reason: outcome.reason },
        'offline push given up',
      );
    }
    this.pumpPosts();
  }

  private scheduleRetry(post: PendingPost): void {
    const exp = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** (post.attempts - 1));
    const delay = Math.round(exp * (0.8 + Math.random() * 0.4));
    const timer = setTimeout(() => {
      this.retrying.delete(timer);
      if (this.closed) return;
      this.ready.push(post);
      this.pumpPosts();
    }, delay);
    this.retrying.set(timer, post);
  }

  /** Counted always; logged at most every few seconds so a flood cannot flood the log. */
  private noteDropped(n: number, force = false): void {
    this.stats.dropped += n;
    this.droppedSinceLog += n;
    const now = Date.now();
    if (force || now - this.lastDropLog >= DROP_LOG_INTERVAL_MS) {
      this.log.warn({ dropped: this.droppedSinceLog, total: this.stats.dropped, queueMax: this.opts.queueMax }, 'offline pushes dropped');
      this.droppedSinceLog = 0;
      this.lastDropLog = now;
    }
  }

  private checkIdle(): void {
    if (this.backlog !== 0 || this.lookupRunning || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
