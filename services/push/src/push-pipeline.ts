import { ExponentialBackoff, bulkhead, handleWhenResult, isBulkheadRejectedError, retry, wrap, type IPolicy } from 'cockatiel';
import type { Logger } from '@tiertalk/log';
import type { PushLookups } from './db-proxy-lookups';
import { notificationOf, readMessage, type DeviceTarget, type Notification, type PushedMessage } from './notification';
import type { PushProvider, SendOutcome } from './providers/provider';
import type { ProviderSet } from './providers/select';
import { backlog, notifications, requests, retries, skipped, tokensCleared } from './push-metrics';

export interface PushPipelineOptions {
  lookups: PushLookups;
  providers: ProviderSet;
  logger: Logger;
  /** Requests and notifications held at once; past it requests are shed. */
  queueMax: number;
  concurrency: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  aesKey?: string;
}

/** A request as route sent it: the stored IMMsgData and its receivers without a session. */
export interface PushRequest {
  msg: Uint8Array;
  userIds: readonly number[];
  /** NotifyItem.from_client_class: the class of the sender's connection, when route was told. */
  fromClientClass?: number;
}

/** Requests resolved per round (their token and shield lookups go together). */
const ROUND_MAX = 200;
const LOG_INTERVAL_MS = 5000;

/**
 * From a request to notifications (docs/FLOWS.md §4 step 4.6, §10 step 5):
 * drop the sender, group members who muted the group (group messages) and
 * receivers without a token or with the push shield on; then one notification
 * per device token through the provider its token maps to, at most
 * `concurrency` at once, transient failures retried with exponential backoff
 * (cockatiel), dead tokens cleared. Nothing here waits on route: `accept`
 * queues or sheds at once.
 */
export class PushPipeline {
  private readonly log: Logger;
  private pending: PushRequest[] = [];
  private resolving = 0;
  private sending = 0;
  private running = false;
  private scheduled: NodeJS.Immediate | undefined;
  private closed = false;
  private readonly cancel = new AbortController();
  private readonly policy: IPolicy;
  private idleWaiters: Array<() => void> = [];
  private lastShedLog = 0;

  constructor(private readonly opts: PushPipelineOptions) {
    this.log = opts.logger.child({ component: 'push-pipeline' });
    const retryPolicy = retry(
      handleWhenResult((r) => (r as SendOutcome).kind === 'retry'),
      { maxAttempts: opts.maxAttempts - 1, backoff: new ExponentialBackoff({ initialDelay: opts.retryBaseMs, maxDelay: opts.retryMaxMs }) },
    );
    // Retry outside, bulkhead inside: an attempt takes a send slot, a backoff wait does not.
    this.policy = wrap(retryPolicy, bulkhead(opts.concurrency, opts.queueMax));
  }

  /** Requests and notifications held. */
  get held(): number {
    return this.pending.length + this.resolving + this.sending;
  }

  /** Queues a request; false when it was shed (queue full or stopping), counted either way. */
  accept(req: PushRequest): boolean {
    if (this.closed || this.held >= this.opts.queueMax) {
      requests.inc({ outcome: 'shed' });
      this.noteShed();
      return false;
    }
    requests.inc({ outcome: 'accepted' });
    this.pending.push(req);
    this.update();
    // The requests of one event-loop turn are resolved together.
    this.scheduled ??= setImmediate(() => this.run());
    return true;
  }

  /** Resolves once nothing is held (tests, shutdown). */
  idle(): Promise<void> {
    if (this.held === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking requests; gives what is held `graceMs` to finish, then aborts it. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    clearImmediate(this.scheduled);
    this.cancel.abort();
    const left = this.pending.length;
    if (left > 0) skipped.inc({ reason: 'shed' }, left);
    this.pending = [];
    this.update();
  }

  private run(): void {
    this.scheduled = undefined;
    if (this.running) return;
    this.running = true;
    this.loop()
      .catch((err: unknown) => this.log.error({ err }, 'push pipeline round failed'))
      .finally(() => {
        this.running = false;
        if (this.pending.length > 0 && !this.cancel.signal.aborted) this.scheduled ??= setImmediate(() => this.run());
        this.update();
      });
  }

  private async loop(): Promise<void> {
    while (this.pending.length > 0 && !this.cancel.signal.aborted) {
      const round = this.pending.splice(0, ROUND_MAX);
      this.resolving = round.length;
      try {
        await this.resolveRound(round);
      } finally {
        this.resolving = 0;
      }
    }
  }

  private async resolveRound(round: PushRequest[]): Promise<void> {
    const messages: Array<{ message: PushedMessage; receivers: number[] }> = [];
    for (const req of round) {
      const message = readMessage(req.msg);
      if (message instanceof Error) {
        requests.inc({ outcome: 'invalid' });
        this.log.warn({ err: message }, 'push request with an unusable message: skipped');
        continue;
      }
      if (req.fromClientClass !== undefined) message.fromClientClass = req.fromClientClass;
      const from = message.msg.fromUserId;
      const receivers = [...new Set(req.userIds)].filter((id) => id > 0 && id !== from);
      // TeamTalk never pushes a user's own message to that user.
      if (receivers.length < req.userIds.length) skipped.inc({ reason: 'own_message' }, req.userIds.length - receivers.length);
      if (receivers.length > 0) messages.push({ message, receivers });
    }
    try {
      await this.dropGroupShielded(messages);
      const users = [...new Set(messages.flatMap((m) => m.receivers))];
      const tokens = users.length > 0 ? await this.opts.lookups.tokensOf(users) : [];
      const byUser = new Map<number, { targets: DeviceTarget[]; badge: number }>();
      for (const t of tokens) {
        const entry = byUser.get(t.userId) ?? { targets: [], badge: t.pushCount ?? 0 };
        entry.targets.push({ userId: t.userId, clientType: t.userType, token: t.token });
        byUser.set(t.userId, entry);
      }
      const shielded = byUser.size > 0 ? await this.opts.lookups.pushShielded([...byUser.keys()]) : new Set<number>();
      for (const { message, receivers } of messages) {
        for (const userId of receivers) {
          const entry = byUser.get(userId);
          if (!entry) skipped.inc({ reason: 'no_token' });
          else if (shielded.has(userId)) skipped.inc({ reason: 'push_shield' });
          else {
            const n = notificationOf(message, entry.badge, this.opts.aesKey);
            for (const target of entry.targets) this.dispatch(target, n);
          }
        }
      }
    } catch (err) {
      if (this.cancel.signal.aborted) return;
      const receivers = messages.reduce((sum, m) => sum + m.receivers.length, 0);
      skipped.inc({ reason: 'lookup_failed' }, receivers);
      this.log.warn({ err, messages: messages.length, receivers }, 'db-proxy lookups failed: these pushes are not sent');
    }
  }

  /** Group messages: members with the group's shield on are left out (one GroupGetShield per message). */
  private async dropGroupShielded(messages: Array<{ message: PushedMessage; receivers: number[] }>): Promise<void> {
    for (const m of messages) {
      if (!m.message.group) continue;
      const muted = await this.opts.lookups.groupShielded(m.message.msg.toSessionId, m.receivers);
      if (muted.size === 0) continue;
      skipped.inc({ reason: 'group_shield' }, muted.size);
      m.receivers = m.receivers.filter((id) => !muted.has(id));
    }
  }

  private dispatch(target: DeviceTarget, n: Notification): void {
    const provider = this.opts.providers.pick(target);
    if (!provider) {
      skipped.inc({ reason: 'no_provider' });
      return;
    }
    this.sending += 1;
    this.update();
    this.send(provider, target, n)
      .catch((err: unknown) => this.log.error({ err }, 'push send failed'))
      .finally(() => {
        this.sending -= 1;
        this.update();
      });
  }

  private async send(provider: PushProvider, target: DeviceTarget, n: Notification): Promise<void> {
    let attempt = 0;
    let outcome: SendOutcome;
    try {
      outcome = (await this.policy.execute(({ signal }) => {
        attempt += 1;
        if (attempt > 1) retries.inc({ provider: provider.name });
        return provider.send(target, n, signal);
      }, this.cancel.signal)) as SendOutcome;
    } catch (err) {
      if (isBulkheadRejectedError(err)) {
        skipped.inc({ reason: 'shed' });
        this.noteShed();
        return;
      }
      throw err;
    }
    const labels = { provider: provider.name };
    switch (outcome.kind) {
      case 'sent':
        notifications.inc({ ...labels, outcome: 'sent' });
        this.log.debug({ userId: target.userId, provider: provider.name, msgId: n.data.msg_id, attempts: attempt }, 'push sent');
        return;
      case 'retry':
        notifications.inc({ ...labels, outcome: 'failed' });
        this.log.warn({ userId: target.userId, provider: provider.name, attempts: attempt, reason: outcome.reason }, 'push given up after transient failures');
        return;
      case 'rejected':
        notifications.inc({ ...labels, outcome: 'rejected' });
        this.log.warn({ userId: target.userId, provider: provider.name, reason: outcome.reason }, 'push refused by the provider');
        return;
      case 'invalid-token':
        notifications.inc({ ...labels, outcome: 'invalid_token' });
        await this.clearDeadToken(target, outcome.reason);
        return;
    }
  }

  /** Cleared only while db-proxy still holds that same token: a token registered since is kept. */
  private async clearDeadToken(target: DeviceTarget, reason: string): Promise<void> {
    try {
      const now = await this.opts.lookups.tokensOf([target.userId]);
      if (!now.some((t) => t.token === target.token)) return;
      await this.opts.lookups.clearToken(target.userId, target.clientType);
      tokensCleared.inc();
      this.log.info({ userId: target.userId, clientType: target.clientType, reason }, 'dead device token cleared');
    } catch (err) {
      this.log.warn({ err, userId: target.userId, reason }, 'dead device token not cleared (db-proxy unreachable)');
    }
  }

  private noteShed(): void {
    const now = Date.now();
    if (now - this.lastShedLog < LOG_INTERVAL_MS) return;
    this.lastShedLog = now;
    this.log.warn({ held: this.held, queueMax: this.opts.queueMax }, 'push queue full: pushes shed');
  }

  private update(): void {
    backlog.set(this.held);
    if (this.held !== 0 || this.running || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
