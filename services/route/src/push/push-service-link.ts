import type { Logger } from '@tiertalk/log';
import { Counter, metricsRegistry } from '@tiertalk/metrics';
import { PushService, isMobileClient, tiertalk, type NotifiedBatch, type NotifyBatch } from '@tiertalk/proto';
import { BatchedCalls, type InstancePool } from '@tiertalk/rpc';

export interface PushServiceLinkOptions {
  /** The push instances in etcd (service `push`). */
  pool: InstancePool;
  logger: Logger;
  /** Requests not yet answered by the push service; more are shed and counted. */
  queueMax: number;
  /** How long a request may wait for the push service's answer, failover included. */
  deadlineMs: number;
  /**
   * Also ask for receivers whose only sessions are mobile: the phone may be in the background
   * with its connection still open (TeamTalk pushes them too); an app in the foreground does not
   * show the notification.
   */
  mobileOnly: boolean;
}

/** What route's Deliver path hands over; must return at once. */
export interface PushRequestSink {
  /** The batch's envelopes and the sessions of their receivers (receivers absent from the map have none). */
  offer(envelopes: readonly tiertalk.Envelope.$Properties[], sessions: ReadonlyMap<number, ReadonlyArray<{ clientType: number }>>): void;
}

const { MESSAGE_KIND_OTHER } = tiertalk.MessageKind;

const OUTCOMES = ['accepted', 'refused', 'shed', 'unavailable'] as const;
type Outcome = (typeof OUTCOMES)[number];
const requests = new Counter({
  name: 'tt_route_push_requests_total',
  help: 'Push requests for receivers without a session, by outcome: accepted (queued by the push service), refused (its queue was full), shed (route held queueMax unanswered), unavailable (no push instance, or none answered in time)',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});
for (const outcome of OUTCOMES) requests.inc({ outcome }, 0);

/** A request's ref and how the push service answered it. */
interface NotifyReq {
  msg: Uint8Array;
  userIds: number[];
  fromClientClass?: number;
}

const BATCH_MAX = 256;
const LOG_INTERVAL_MS = 5000;

/**
 * The push service trigger (docs/FLOWS.md §4 step 4.6, §10 step 5): every
 * stored message (CID_MSG_DATA) of a Deliver batch with receivers that have no
 * session becomes one request on route's long-lived PushNotify.Notify stream
 * (batched per event-loop turn, round-robin over the push instances, failover
 * when a stream breaks). `offer` never waits and never fails: past
 * `queueMax` unanswered requests, or with no push instance, a request is shed
 * and counted. The push service decides the rest (shields, tokens, providers).
 */
export class PushServiceLink implements PushRequestSink {
  private readonly log: Logger;
  private readonly calls: BatchedCalls<NotifyReq, boolean, NotifyBatch, NotifiedBatch, tiertalk.NotifiedItem.$Properties>;
  private readonly lastLog = new Map<Outcome, number>();

  constructor(private readonly opts: PushServiceLinkOptions) {
    this.log = opts.logger.child({ component: 'push-service-link' });
    this.calls = new BatchedCalls(
      opts.pool,
      {
        method: PushService.Notify,
        batchOf: (items) => tiertalk.NotifyBatch.create({ items: items.map(({ ref, req }) => ({ ref, ...req })) }),
        repliesOf: (b) => b.items ?? [],
        refOf: (r) => r.ref,
        isStop: (b) => b.stop != null,
        outcomeOf: (r) => ({ rsp: r.accepted }),
      },
      { deadlineMs: opts.deadlineMs, batchMax: BATCH_MAX, logger: opts.logger, attempts: 2 },
    );
  }

  offer(envelopes: readonly tiertalk.Envelope.$Properties[], sessions: ReadonlyMap<number, ReadonlyArray<{ clientType: number }>>): void {
    const pushable = (id: number): boolean => {
      const own = sessions.get(id) ?? [];
      return own.length === 0 || (this.opts.mobileOnly && own.every((s) => isMobileClient(s.clientType)));
    };
    for (const env of envelopes) {
      // Stored messages only: 1:1 and group (never sent to all users).
      if ((env.kind ?? MESSAGE_KIND_OTHER) === MESSAGE_KIND_OTHER || env.allUsers || !env.body) continue;
      // 1:1: [to, from]; group: every member. The sender is dropped by the push service.
      const offline = [...new Set(env.toUserIds ?? [])].filter((id) => id > 0 && pushable(id));
      if (offline.length === 0) continue;
      const req: NotifyReq = { msg: env.body, userIds: offline };
      // Unset reads as 0 (ANY) on a decoded envelope: left off the request.
      if (env.fromClientClass) req.fromClientClass = env.fromClientClass;
      this.request(req);
    }
  }

  /** Stops: what is unanswered is failed (counted unavailable), the streams end. */
  close(): void {
    this.calls.close();
  }

  private request(req: NotifyReq): void {
    if (this.opts.pool.size === 0) return this.count('unavailable');
    if (this.calls.inFlight >= this.opts.queueMax) return this.count('shed');
    this.calls.call(req).then(
      (accepted) => this.count(accepted ? 'accepted' : 'refused'),
      (err: unknown) => this.count('unavailable', err),
    );
  }

  /** Counted always; logged (but for accepted) at most every few seconds per outcome. */
  private count(outcome: Outcome, err?: unknown): void {
    requests.inc({ outcome });
    if (outcome === 'accepted') return;
    const now = Date.now();
    if (now - (this.lastLog.get(outcome) ?? 0) < LOG_INTERVAL_MS) return;
    this.lastLog.set(outcome, now);
    this.log.warn({ outcome, err, pushInstances: this.opts.pool.size, queueMax: this.opts.queueMax }, 'push request not accepted by the push service');
  }
}
