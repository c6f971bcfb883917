import type { Pool } from 'mysql2/promise';
import type { Logger } from '@tiertalk/log';
import { RefusalLog } from '@tiertalk/metrics';
import type { AudioStore } from '../../store/audio-store';
import type { ConversationIndex } from '../../store/conversation-index';
import type { CounterOutbox } from '../../store/counter-outbox';
import type { GroupMembersCache } from '../../store/group-members';
import { IDEMPOTENCY_UNIQUE_KEY, IdempotencyStore } from '../../store/idempotency';
import type { KnownUsers } from '../../store/known-users';
import { MESSAGE_ID_UNIQUE_KEYS, MessageIdAllocator } from '../../store/message-ids';
import { isPoolQueueFull } from '../../store/mysql';
import { duplicateKeyName } from '../../store/mysql-errors';
import type { RecentSessionWriter } from '../../store/recent-sessions';
import type { RelationStore } from '../../store/relations';
import type { MessageShardServers } from '../../store/shard-servers';
import { CommitTimings, observeCommit, trackCommitQueue } from './commit-metrics';
import { Admission } from './commit/admission';
import { MasterTransaction } from './commit/master-transaction';
import { laneOf } from './commit/lanes';
import { CommitPlanner } from './commit/plan';
import { RemoteShardCommit } from './commit/remote-shards';
import { Accepted, answer, PendingMessage, Planned, STORAGE_ERROR, stored } from './commit/types';

export type { PendingMessage, StorableContent, StoreOutcome } from './commit/types';

// Message bytes per transaction: each statement's bound values must stay well
// below MySQL's max_allowed_packet (16 MiB by default) even with audio.
const BATCH_BYTES_MAX = 4 * 1024 * 1024;

// A commit is re-run after a duplicate key (an idempotency key already
// stored, a message id already taken); each re-run has fewer items or a
// raised counter, so a few rounds always suffice.
const MAX_STORE_ROUNDS = 4;

interface CommitterDeps {
  /** The message transaction's own pool (one statement per round trip, prepared). */
  writer: Pool;
  /** Plain master pool: idempotency look-ups and the check of an unknown commit outcome. */
  master: Pool;
  /**
   * Where each message shard lives (TT_MYSQL_SHARDS). Rows of shards on another
   * server are committed there first (commit/remote-shards.ts); absent: all on the master.
   */
  shards?: MessageShardServers;
  /** Unread and group counters: written in the transaction, applied to Redis after it. */
  counterOutbox: CounterOutbox;
  relations: RelationStore;
  ids: MessageIdAllocator;
  sessions: RecentSessionWriter;
  /** IMAudio rows and their bytes (docs/FLOWS.md §4 step 3.4). */
  audio: AudioStore;
  /** The per-user conversation index in the sync Redis, written once per commit. */
  conversations: ConversationIndex;
  /** IMMsgIdempotency rows (written in the message transaction). */
  idempotency: IdempotencyStore;
  /** A key stored longer ago than this is not a duplicate any more (TT_STORE_DEDUPE_WINDOW_SEC). */
  dedupeWindowSec: number;
  log: Logger;
  batchMax: number;
  /** Commits in flight at once, each over its own conversations (TT_STORE_COMMIT_LANES; commit/lanes.ts); default 1. */
  lanes?: number;
  /** Group messages (docs/FLOWS.md §10.2); without it they are refused. */
  groups?: GroupStoreDeps;
  /** 1:1 receivers must exist in IMUser (db-proxy always passes it; some store tests use ids without users). */
  receivers?: KnownUsers;
  /** Audio bytes a message may carry (after its 4-byte duration). */
  audioMaxBytes?: number;
  /** How long a shard server's part of a commit may take before its messages are answered STORE_FAILED (TT_MYSQL_SHARD_TIMEOUT_MS). */
  shardTimeoutMs?: number;
  /** Counts and logs refused messages; one is made from `log` when absent. */
  refusals?: RefusalLog;
}

/** One lane's pending messages; a lane runs one commit at a time. */
interface Lane {
  queue: PendingMessage[];
  running: boolean;
}

export interface GroupStoreDeps {
  members: GroupMembersCache;
}

/**
 * Group commit of messages (docs/ARCHITECTURE.md, the message store path):
 * messages are partitioned into lanes by conversation (commit/lanes.ts); in
 * each lane one commit runs at a time and everything that arrives meanwhile
 * rides in the next one, so a lone message is stored at once and a burst
 * costs one transaction, one id pipeline, one counter script and one
 * conversation-index pipeline per batch and lane instead of per message.
 * Lanes commit side by side, so one commit's Redis work and round trips
 * overlap another's. Nothing is reported stored
 * before MySQL committed it, and everything MySQL committed is reported
 * stored: its counter deltas are committed with it (counter-outbox.ts).
 *
 * A commit: admission (commit/admission.ts) → plan: relations, audio, ids
 * (commit/plan.ts) → rows of shards on other servers (commit/remote-shards.ts)
 * → the master transaction (commit/master-transaction.ts), each transaction
 * rolled back and retried in one place (store/transaction-runner.ts).
 */
export class MessageCommitter {
  private readonly lanes: Lane[];
  private idleWaiters: Array<() => void> = [];
  private progressListeners: Array<() => void> = [];
  private readonly refusals: RefusalLog;
  private readonly admission: Admission;
  private readonly planner: CommitPlanner;
  private readonly remoteShards?: RemoteShardCommit;
  private readonly master: MasterTransaction;

  constructor(private readonly deps: CommitterDeps) {
    this.refusals = deps.refusals ?? new RefusalLog(deps.log);
    this.admission = new Admission({ ...deps, refusals: this.refusals });
    this.planner = new CommitPlanner(deps);
    if (deps.shards !== undefined && deps.shards.remote.length > 0) {
      this.remoteShards = new RemoteShardCommit({ ...deps, shards: deps.shards, refusals: this.refusals, timeoutMs: deps.shardTimeoutMs });
    }
    this.master = new MasterTransaction(deps, this.planner);
    this.lanes = Array.from({ length: Math.max(1, deps.lanes ?? 1) }, () => ({ queue: [], running: false }));
    trackCommitQueue(this);
  }

  get queued(): number {
    let n = 0;
    for (const lane of this.lanes) n += lane.queue.length;
    return n;
  }

  submit(p: PendingMessage): void {
    const lane = this.lanes[laneOf(p.msg, this.lanes.length)];
    lane.queue.push(p);
    if (!lane.running) void this.run(lane);
  }

  /** Called after every commit; the stream handler resumes paused streams here. */
  onProgress(fn: () => void): void {
    this.progressListeners.push(fn);
  }

  /** Resolves once everything submitted so far is committed or failed. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.lanes.every((lane) => !lane.running && lane.queue.length === 0);
  }

  private async run(lane: Lane): Promise<void> {
    lane.running = true;
    try {
      while (lane.queue.length > 0) {
        const batch = lane.queue.splice(0, batchLength(lane.queue, this.deps.batchMax));
        await this.commit(batch);
        for (const fn of this.progressListeners) fn();
      }
    } finally {
      lane.running = false;
      if (this.isIdle()) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  private async commit(batch: PendingMessage[]): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const timings = new CommitTimings();
    const accepted = await timings.time('admission', () => this.admission.admit(batch, now));
    if (accepted.length === 0) return;

    const started = performance.now();
    let pending = accepted;
    try {
      for (let round = 1; ; round += 1) {
        try {
          const assigned = await this.store(pending, now, timings);
          // undefined: its shard's server did not take it (the rest of the batch is stored).
          pending.forEach((a, i) => {
            const msgId = assigned[i];
            answer(a, msgId === undefined ? STORAGE_ERROR : stored(a, msgId));
          });
          pending = [];
          break;
        } catch (err) {
          const duplicate = duplicateKeyName(err);
          if (round >= MAX_STORE_ROUNDS || duplicate === undefined) throw err;
          if (duplicate === IDEMPOTENCY_UNIQUE_KEY) pending = await this.admission.answerAlreadyStored(pending, now);
          else if (MESSAGE_ID_UNIQUE_KEYS.has(duplicate)) this.deps.log.warn({ err }, 'message id already stored (counter behind the shard); counters raised, retrying');
          else throw err;
          if (pending.length === 0) break;
        }
      }
      const ms = performance.now() - started;
      observeCommit(accepted.length, ms / 1000, 'ok');
      timings.observe();
      // Operators watch for slow commits; every commit at debug for profiling.
      if (ms > 200) this.deps.log.warn({ messages: accepted.length, ms: Math.round(ms), ...timings.toLog() }, 'slow message commit');
      else if (this.deps.log.isLevelEnabled('debug')) this.deps.log.debug({ messages: accepted.length, ms: Math.round(ms * 10) / 10, queued: this.queued, ...timings.toLog() }, 'message batch committed');
    } catch (err) {
      observeCommit(accepted.length, (performance.now() - started) / 1000, 'failed');
      if (isPoolQueueFull(err)) this.refusals.refuse('mysql_pool_queue_full', 'message commit', { messages: pending.length });
      else this.deps.log.error({ err, messages: pending.length }, 'storing a message batch failed; senders get no ACK');
      for (const a of pending) answer(a, STORAGE_ERROR);
    }
  }

  /**
   * Returns the msg id of each accepted message, in order; undefined for a
   * message whose shard lives on another server that failed to store it.
   */
  private async store(accepted: Accepted[], now: number, timings: CommitTimings): Promise<Array<number | undefined>> {
    const plan = await this.planner.plan(accepted, now, timings);
    const { plans, audioIds } = plan;
    const isRemote = this.planner.isRemote;
    // Rows of shards on other servers are committed there before the master's transaction (docs/STORAGE.md §1.5.1).
    const remote = this.remoteShards;
    const onRemote = remote === undefined ? new Set<Planned>() : await timings.time('remote_shards', () => remote.store(plans.filter(isRemote), plan.specs, now));
    const survivors = plans.filter((p) => !isRemote(p) || onRemote.has(p));
    const lostClips = plans.filter((p) => isRemote(p) && !onRemote.has(p) && p.clip !== undefined).map((p) => audioIds[p.clip ?? 0]);
    if (lostClips.length > 0) await this.planner.discardAudio(lostClips);
    if (survivors.length === 0) return plans.map(() => undefined);
    await this.master.commit(survivors, plan, now, timings);
    const stored = new Set(survivors);
    return plans.map((p) => (stored.has(p) ? p.msgId : undefined));
  }
}

/** At most batchMax messages and BATCH_BYTES_MAX bytes of content (at least one message). */
function batchLength(queue: readonly PendingMessage[], batchMax: number): number {
  const max = Math.min(batchMax, queue.length);
  let bytes = 0;
  for (let i = 0; i < max; i++) {
    bytes += queue[i].msg.msgData.length;
    if (bytes > BATCH_BYTES_MAX) return Math.max(1, i);
  }
  return max;
}
