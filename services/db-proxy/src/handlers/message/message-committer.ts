import { isUtf8 } from 'node:buffer';
import type { Pool, PoolConnection } from 'mysql2/promise';
import type { Logger } from '@tiertalk/log';
import { RefusalLog } from '@tiertalk/metrics';
import { IM, isGroupMsgType, tiertalk } from '@tiertalk/proto';
import { AudioClip, AudioStore, parseAudioPayload } from '../../store/audio-store';
import { ConversationIndex, ConversationTouch } from '../../store/conversation-index';
import { CounterOutbox, GroupCountDelta, UnreadDelta } from '../../store/counter-outbox';
import { GroupMembersCache, Members } from '../../store/group-members';
import { addGroupChatted, addGroupMessageInserts, GroupMessageRow } from '../../store/group-messages';
import { groupMessageTable, messageTable, redisKeys } from '../../store/keys';
import { addMessageInserts, MessageRow } from '../../store/messages';
import { SqlBatch } from '../../store/sql-batch';
import { ReadCursor, ReadCursorWriter } from '../../store/read-cursors';
import { committedAfterLostConnection, RowProbe } from '../../store/commit-outcome';
import { IDEM_KEY_MAX_CHARS, IDEMPOTENCY_UNIQUE_KEY, IdempotencyRow, IdempotencyStore, idemMapKey } from '../../store/idempotency';
import type { KnownUsers } from '../../store/known-users';
import { isPoolQueueFull } from '../../store/mysql';
import { duplicateKeyName, isFatal } from '../../store/mysql-errors';
import { CounterSpec, MESSAGE_ID_UNIQUE_KEYS, MessageIdAllocator } from '../../store/message-ids';
import { pairKey, RelationStore } from '../../store/relations';
import { RecentSessionWriter, SessionTouch } from '../../store/recent-sessions';
import type { MessageShardServers, ShardServer } from '../../store/shard-servers';
import { CommitTimings, observeCommit, trackCommitQueue } from './commit-metrics';

const { STORE_OK, STORE_REJECTED, STORE_FAILED } = tiertalk.StoreResult;
const { MSG_TYPE_SINGLE_TEXT, MSG_TYPE_SINGLE_AUDIO, MSG_TYPE_GROUP_AUDIO } = IM.BaseDefine.MsgType;
const { SESSION_TYPE_SINGLE, SESSION_TYPE_GROUP } = IM.BaseDefine.SessionType;

// IMMessage_n.content is varchar(4096) (docs/PROTOCOL.md §1: MAX_MSG_LEN).
const MAX_CONTENT_CHARS = 4096;
// Message bytes per transaction: each statement's bound values must stay well
// below MySQL's max_allowed_packet (16 MiB by default) even with audio.
const BATCH_BYTES_MAX = 4 * 1024 * 1024;
// Audio bytes per message (TT_AUDIO_MAX_BYTES): a history page of 100 of them must fit a gRPC message.
export const DEFAULT_AUDIO_MAX_BYTES = 128 * 1024;

/** memberIds: for a stored group message, the group's members at store time (MsgStoredItem.member_ids). */
export type StoreOutcome = { result: tiertalk.StoreResult; msgId: number; reason?: string; memberIds?: number[] };

export interface PendingMessage {
  msg: IM.Message.IMMsgData.$Properties;
  /** MsgStoreItem.idem_key: a second item with the same key from the same sender is answered, not stored again. */
  idemKey?: string;
  done(outcome: StoreOutcome): void;
}

interface CommitterDeps {
  /** The message transaction's own pool (one statement per round trip, prepared). */
  writer: Pool;
  /** Plain master pool: idempotency look-ups and the check of an unknown commit outcome. */
  master: Pool;
  /**
   * Where each message shard lives (TT_MYSQL_SHARDS). Rows of shards on another
   * server are committed there first (storeOnRemoteShards); absent: all on the master.
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

export interface GroupStoreDeps {
  members: GroupMembersCache;
}

/** One shard server's part of a commit, which the committer may give up waiting for. */
interface ShardAttempt {
  abandoned: boolean;
  /** The connection its transaction runs on, while it runs. */
  conn?: PoolConnection;
}

/** One accepted message of a commit, with what its rows carry. */
interface Planned {
  a: Accepted;
  group: boolean;
  /** relateId (1:1) or groupId: its shard is conversationId % 8. */
  conversationId: number;
  /** Taken from the counter; replaced by the stored id when a remote shard already holds the message. */
  msgId: number;
  /** Stored content: the text, or the IMAudio id. */
  content: string;
  /** Index into the commit's audio clips / reserved IMAudio ids. */
  clip?: number;
  created: number;
}

/** What a checked message stores: its text, or an audio clip whose IMAudio id becomes the content. */
export type StorableContent = { text: string } | { audio: { duration: number; data: Buffer } };

interface Accepted {
  p: PendingMessage;
  content: StorableContent;
  /** Group messages: the group's members (the sender among them). */
  members?: Members;
  /** Later items of the same batch with the same (sender, idempotency key): they get this item's answer. */
  followers: PendingMessage[];
}

export const DEFAULT_SHARD_TIMEOUT_MS = 5000;

// A commit is re-run after a duplicate key (an idempotency key already
// stored, a message id already taken); each re-run has fewer items or a
// raised counter, so a few rounds always suffice.
const MAX_STORE_ROUNDS = 4;

/**
 * Group commit of 1:1 messages (docs/ARCHITECTURE.md, the message path): one
 * commit runs at a time and everything that arrives meanwhile rides in the
 * next one, so a lone message is stored at once and a burst costs one
 * transaction, one id pipeline, one counter script and one conversation-index
 * pipeline per batch instead of per message. Nothing is reported stored
 * before MySQL committed it, and everything MySQL committed is reported
 * stored: its counter deltas are committed with it (counter-outbox.ts).
 */
export class MessageCommitter {
  private queue: PendingMessage[] = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];
  private progressListeners: Array<() => void> = [];
  /** Second in which each group's members' session rows were last bumped (at most once per second per group). */
  private readonly groupSessionsBumpedAt = new Map<number, number>();
  /** IMReadCursor rows of the commits (one upsert per transaction). */
  private readonly readCursors = new ReadCursorWriter();
  private readonly refusals: RefusalLog;

  constructor(private readonly deps: CommitterDeps) {
    this.refusals = deps.refusals ?? new RefusalLog(deps.log);
    trackCommitQueue(this);
  }

  get queued(): number {
    return this.queue.length;
  }

  submit(p: PendingMessage): void {
    this.queue.push(p);
    if (!this.running) void this.run();
  }

  /** Called after every commit; the stream handler resumes paused streams here. */
  onProgress(fn: () => void): void {
    this.progressListeners.push(fn);
  }

  /** Resolves once everything submitted so far is committed or failed. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.batchLength());
        await this.commit(batch);
        for (const fn of this.progressListeners) fn();
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** At most batchMax messages and BATCH_BYTES_MAX bytes of content (at least one message). */
  private batchLength(): number {
    const max = Math.min(this.deps.batchMax, this.queue.length);
    let bytes = 0;
    for (let i = 0; i < max; i++) {
      bytes += this.queue[i].msg.msgData.length;
      if (bytes > BATCH_BYTES_MAX) return Math.max(1, i);
    }
    return max;
  }

  private async commit(batch: PendingMessage[]): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const timings = new CommitTimings();
    const admissionStarted = performance.now();
    let accepted: Accepted[] = [];
    const groupCandidates: Accepted[] = [];
    const byIdemKey = new Map<string, Accepted>();
    for (const p of batch) {
      const checked = checkMessage(p.msg, this.deps.audioMaxBytes ?? DEFAULT_AUDIO_MAX_BYTES);
      if (typeof checked === 'string') {
        this.reject(p, checked, checked.startsWith('audio larger') ? 'message_audio_too_large' : 'message_invalid');
        continue;
      }
      if (p.idemKey !== undefined && p.idemKey.length > IDEM_KEY_MAX_CHARS) {
        this.reject(p, `idempotency key longer than ${IDEM_KEY_MAX_CHARS} characters`, 'message_invalid');
        continue;
      }
      const key = p.idemKey === undefined ? undefined : idemMapKey({ fromId: p.msg.fromUserId, idemKey: p.idemKey });
      const first = key === undefined ? undefined : byIdemKey.get(key);
      if (first !== undefined) {
        first.followers.push(p);
        continue;
      }
      const a: Accepted = { p, content: checked, followers: [] };
      if (key !== undefined) byIdemKey.set(key, a);
      if (isGroupMsgType(p.msg.msgType)) groupCandidates.push(a);
      else accepted.push(a);
    }
    if (this.deps.receivers !== undefined && accepted.length > 0) {
      try {
        accepted = await this.admitReceivers(accepted, this.deps.receivers);
      } catch (err) {
        this.deps.log.error({ err, messages: accepted.length }, 'receiver check failed; senders get no ACK');
        for (const a of accepted) answer(a, { result: STORE_FAILED, msgId: 0, reason: 'storage error' });
        accepted = [];
      }
    }
    if (groupCandidates.length > 0) {
      try {
        accepted.push(...(await this.admitGroupMessages(groupCandidates, now)));
      } catch (err) {
        this.deps.log.error({ err, messages: groupCandidates.length }, 'group membership check failed; senders get no ACK');
        for (const a of groupCandidates) answer(a, { result: STORE_FAILED, msgId: 0, reason: 'storage error' });
      }
    }
    timings.phases.set('admission', (performance.now() - admissionStarted) / 1000);
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
            answer(a, msgId === undefined ? { result: STORE_FAILED, msgId: 0, reason: 'storage error' } : stored(a, msgId));
          });
          pending = [];
          break;
        } catch (err) {
          const duplicate = duplicateKeyName(err);
          if (round >= MAX_STORE_ROUNDS || duplicate === undefined) throw err;
          if (duplicate === IDEMPOTENCY_UNIQUE_KEY) pending = await this.answerAlreadyStored(pending, now);
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
      else if (this.deps.log.isLevelEnabled('debug')) this.deps.log.debug({ messages: accepted.length, ms: Math.round(ms * 10) / 10, queued: this.queue.length, ...timings.toLog() }, 'message batch committed');
    } catch (err) {
      observeCommit(accepted.length, (performance.now() - started) / 1000, 'failed');
      if (isPoolQueueFull(err)) this.refusals.refuse('mysql_pool_queue_full', 'message commit', { messages: pending.length });
      else this.deps.log.error({ err, messages: pending.length }, 'storing a message batch failed; senders get no ACK');
      for (const a of pending) answer(a, { result: STORE_FAILED, msgId: 0, reason: 'storage error' });
    }
  }

  /**
   * After the idempotency key rejected the transaction: the items whose key
   * is already stored (by an earlier commit, another instance, or a commit
   * whose reply was lost) get the stored msg id; the rest are returned to be
   * stored in another round.
   */
  private async answerAlreadyStored(pending: Accepted[], now: number): Promise<Accepted[]> {
    const keyed = pending.filter((a) => a.p.idemKey !== undefined).map((a) => ({ fromId: a.p.msg.fromUserId, idemKey: a.p.idemKey ?? '' }));
    const claimed = await this.deps.idempotency.claimed(keyed, now - this.deps.dedupeWindowSec);
    const rest: Accepted[] = [];
    for (const a of pending) {
      const msgId = a.p.idemKey === undefined ? undefined : claimed.get(idemMapKey({ fromId: a.p.msg.fromUserId, idemKey: a.p.idemKey }));
      if (msgId === undefined) rest.push(a);
      else {
        this.deps.log.info({ from: a.p.msg.fromUserId, idemKey: a.p.idemKey, msgId }, 'message already stored; answered with its id');
        answer(a, stored(a, msgId));
      }
    }
    return rest;
  }

  /**
   * Returns the msg id of each accepted message, in order; undefined for a
   * message whose shard lives on another server that failed to store it.
   */
  private async store(accepted: Accepted[], now: number, timings: CommitTimings): Promise<Array<number | undefined>> {
    const { relations, ids, sessions, writer, counterOutbox, audio, conversations, idempotency, log } = this.deps;
    const singles = accepted.filter((a) => a.members === undefined);
    const relateIds =
      singles.length === 0
        ? new Map<string, number>()
        : await timings.time('relations', () =>
            relations.resolveForSend(
              singles.map(({ p }) => [p.msg.fromUserId, p.msg.toSessionId] as const),
              now,
            ),
          );
    const relateOf = (m: IM.Message.IMMsgData.$Properties): number => {
      const id = relateIds.get(pairKey(m.fromUserId, m.toSessionId));
      if (id === undefined) throw new Error(`no relation for ${m.fromUserId}/${m.toSessionId}`);
      return id;
    };
    const createdOf = (m: IM.Message.IMMsgData.$Properties): number => (m.createTime > 0 ? m.createTime : now);

    // Audio rows first: their ids are the messages' content.
    const clips: AudioClip[] = [];
    for (const { p, content } of accepted) {
      if ('audio' in content) clips.push({ fromId: p.msg.fromUserId, toId: p.msg.toSessionId, ...content.audio, created: createdOf(p.msg) });
    }
    const audioIds = await timings.time('audio_reserve', () => audio.reserve(clips));

    // One counter per relation; ids within a relation follow arrival order.
    // One counter per group likewise (group_msg_id_<gid>, docs/FLOWS.md §10.2 step 2).
    const perRelation = new Map<number, number>();
    const perGroup = new Map<number, number>();
    for (const { p, members } of accepted) {
      if (members !== undefined) perGroup.set(p.msg.toSessionId, (perGroup.get(p.msg.toSessionId) ?? 0) + 1);
      else {
        const r = relateOf(p.msg);
        perRelation.set(r, (perRelation.get(r) ?? 0) + 1);
      }
    }
    const shards = this.deps.shards;
    const specs: CounterSpec[] = [
      ...[...perRelation].map(([relateId, count]) => ({
        key: redisKeys.msgIdCounter(relateId),
        count,
        maxSql: `SELECT MAX(msgId) AS maxId FROM ${messageTable(relateId)} WHERE relateId = ?`,
        maxParams: [relateId],
        pool: shards?.poolOf(relateId),
      })),
      ...[...perGroup].map(([groupId, count]) => ({
        key: redisKeys.groupMsgIdCounter(groupId),
        count,
        maxSql: `SELECT MAX(msgId) AS maxId FROM ${groupMessageTable(groupId)} WHERE groupId = ?`,
        maxParams: [groupId],
        pool: shards?.poolOf(groupId),
      })),
    ];
    let taken: Map<string, number[]>;
    try {
      taken = await timings.time('id_allocation', () => ids.allocate(specs));
    } catch (err) {
      await this.discardAudio(audioIds);
      throw err;
    }

    const idQueues = new Map<string, number[]>();
    for (const [key, list] of taken) idQueues.set(key, [...list]);
    const plans: Planned[] = [];
    let clipIndex = 0;
    for (const a of accepted) {
      const m = a.p.msg;
      const group = a.members !== undefined;
      const conversationId = group ? m.toSessionId : relateOf(m);
      const counter = group ? redisKeys.groupMsgIdCounter(conversationId) : redisKeys.msgIdCounter(conversationId);
      const clip = 'text' in a.content ? undefined : clipIndex++;
      const content = 'text' in a.content ? a.content.text : String(audioIds[clip ?? 0]);
      plans.push({ a, group, conversationId, msgId: idQueues.get(counter)?.shift() ?? 0, content, clip, created: createdOf(m) });
    }
    const remote = (p: Planned): boolean => shards !== undefined && shards.serverOf(p.conversationId).remote;
    // Rows of shards on other servers are committed there before the master's transaction (docs/STORAGE.md §1.5.1).
    const onRemote = shards === undefined || shards.remote.length === 0 ? new Set<Planned>() : await timings.time('remote_shards', () => this.storeOnRemoteShards(shards, plans.filter(remote), specs, now));
    const survivors = plans.filter((p) => !remote(p) || onRemote.has(p));
    const lostClips = plans.filter((p) => remote(p) && !onRemote.has(p) && p.clip !== undefined).map((p) => audioIds[p.clip ?? 0]);
    if (lostClips.length > 0) await this.discardAudio(lostClips);
    if (survivors.length === 0) return plans.map(() => undefined);
    // Audio ids a failed master transaction may discard: those no committed remote row refers to.
    const localAudioIds = survivors.filter((p) => !remote(p) && p.clip !== undefined).map((p) => audioIds[p.clip ?? 0]);
    const liveClips = survivors.filter((p) => p.clip !== undefined);

    const rows: MessageRow[] = [];
    const groupRows: GroupMessageRow[] = [];
    const groupDeltas = new Map<number, GroupCountDelta>();
    const groupMembers = new Map<number, Members>();
    const touches: SessionTouch[] = [];
    const conversationTouches: ConversationTouch[] = [];
    const unread = new Map<string, UnreadDelta>();
    const assigned: number[] = [];
    const idemRows: IdempotencyRow[] = [];
    // The sender has read what they sent: their durable read cursor moves with it.
    const ownReads: ReadCursor[] = [];
    // A 1:1 receiver gets a cursor below the first message received (read-cursors.ts).
    const receivedReads: ReadCursor[] = [];
    for (const plan of survivors) {
      const { p, members } = plan.a;
      const { msgId } = plan;
      const m = p.msg;
      const local = !remote(plan);
      if (members !== undefined) {
        const groupId = m.toSessionId;
        assigned.push(msgId);
        if (p.idemKey !== undefined) idemRows.push({ fromId: m.fromUserId, idemKey: p.idemKey, sessionType: SESSION_TYPE_GROUP, toId: groupId, msgId, created: now });
        if (local) groupRows.push(groupRowOf(plan));
        groupMembers.set(groupId, members);
        touches.push({ userId: m.fromUserId, peerId: groupId, type: SESSION_TYPE_GROUP, updated: now });
        conversationTouches.push({ userId: m.fromUserId, peerId: groupId, type: SESSION_TYPE_GROUP, updated: now, readMsgId: msgId });
        ownReads.push({ userId: m.fromUserId, peerId: groupId, sessionType: SESSION_TYPE_GROUP, msgId });
        let delta = groupDeltas.get(groupId);
        if (delta === undefined) groupDeltas.set(groupId, (delta = { groupId, count: 0, senders: new Map() }));
        delta.count += 1;
        // Messages after each sender's latest: counted up as later ones arrive.
        for (const [sender, after] of delta.senders) delta.senders.set(sender, after + 1);
        delta.senders.set(m.fromUserId, 0);
        continue;
      }
      assigned.push(msgId);
      if (p.idemKey !== undefined) idemRows.push({ fromId: m.fromUserId, idemKey: p.idemKey, sessionType: SESSION_TYPE_SINGLE, toId: m.toSessionId, msgId, created: now });
      if (local) rows.push(messageRowOf(plan));
      touches.push(
        { userId: m.fromUserId, peerId: m.toSessionId, type: SESSION_TYPE_SINGLE, updated: now },
        { userId: m.toSessionId, peerId: m.fromUserId, type: SESSION_TYPE_SINGLE, updated: now },
      );
      // The sender has read what they sent: their read cursor moves with it.
      conversationTouches.push(
        { userId: m.fromUserId, peerId: m.toSessionId, type: SESSION_TYPE_SINGLE, updated: now, readMsgId: msgId },
        { userId: m.toSessionId, peerId: m.fromUserId, type: SESSION_TYPE_SINGLE, updated: now },
      );
      ownReads.push({ userId: m.fromUserId, peerId: m.toSessionId, sessionType: SESSION_TYPE_SINGLE, msgId });
      receivedReads.push({ userId: m.toSessionId, peerId: m.fromUserId, sessionType: SESSION_TYPE_SINGLE, msgId });
      const key = `${m.toSessionId}:${m.fromUserId}`;
      const u = unread.get(key);
      if (u) u.n += 1;
      else unread.set(key, { toId: m.toSessionId, fromId: m.fromUserId, n: 1 });
    }

    // Instead of TeamTalk's 5-second sync thread: every member's group session
    // row is bumped at most once per second per group, and their conversation
    // index once per commit.
    const bumpedGroups: number[] = [];
    for (const [groupId, members] of groupMembers) {
      for (const userId of members.keys()) conversationTouches.push({ userId, peerId: groupId, type: SESSION_TYPE_GROUP, updated: now });
      if ((this.groupSessionsBumpedAt.get(groupId) ?? 0) >= now) continue;
      bumpedGroups.push(groupId);
      for (const userId of members.keys()) touches.push({ userId, peerId: groupId, type: SESSION_TYPE_GROUP, updated: now });
    }

    const outboxEntry = counterOutbox.entryFor({ unread: [...unread.values()], groups: [...groupDeltas.values()] });
    let sent = false;
    let cursorRows: ReadCursor[] = [];
    try {
      const batch = new SqlBatch();
      // The idempotency rows first: a key already stored fails the transaction before any other write.
      idempotency.addRows(batch, idemRows);
      if (outboxEntry !== undefined) counterOutbox.addRow(batch, outboxEntry, now);
      addMessageInserts(batch, rows);
      addGroupMessageInserts(batch, groupRows);
      addGroupChatted(batch, [...groupMembers.keys()], now);
      audio.addData(
        batch,
        liveClips.map((p) => audioIds[p.clip ?? 0]),
        liveClips.map((p) => clips[p.clip ?? 0]),
      );
      sessions.addTouches(batch, touches);
      cursorRows = this.readCursors.add(batch, ownReads, receivedReads, now);
      const transactionStarted = performance.now();
      const conn = await writer.getConnection();
      let usable = true;
      try {
        sent = true;
        await batch.runInTransaction(conn, undefined, timings.statement);
      } catch (err) {
        if (await rolledBack(conn, err)) {
          sent = false;
          throw err;
        }
        usable = false;
        conn.destroy();
        const probe = rows.length + groupRows.length > 0 ? probeOf(rows, groupRows) : outboxProbe(outboxEntry?.id ?? '');
        if (!(await this.committedDespite(this.deps.master, err, conn.threadId, probe, taken))) throw err;
      } finally {
        if (usable) conn.release();
        timings.phases.set('transaction', (performance.now() - transactionStarted) / 1000);
      }
    } catch (err) {
      // The ids are not given back (never hand one out twice); a rolled-back commit leaves a gap.
      if (!sent) await this.discardAudio(localAudioIds);
      if (MESSAGE_ID_UNIQUE_KEYS.has(duplicateKeyName(err) ?? '')) await ids.raiseToStored(specs);
      throw err;
    }
    sessions.remember(touches);
    this.readCursors.remember(cursorRows);
    for (const groupId of bumpedGroups) this.groupSessionsBumpedAt.set(groupId, now);
    if (this.groupSessionsBumpedAt.size > 100_000) this.groupSessionsBumpedAt.clear();

    // The rows are committed: from here on the messages are answered STORE_OK.
    // Their counters are applied now (normally done before the ACK); if Redis
    // fails, the outbox row stays and the repair job applies it later. The
    // conversation index is a cache of MySQL: a failed write is logged, and
    // readers rebuild it once it expires or is flushed.
    await Promise.all([
      outboxEntry === undefined
        ? undefined
        : timings.time('counters_apply', () =>
            counterOutbox.apply([outboxEntry]).then(
              () => counterOutbox.markApplied([outboxEntry.id]),
              (err: unknown) => log.warn({ err, outboxId: outboxEntry.id }, 'counter update after commit failed; the outbox repair job applies it'),
            ),
          ),
      timings.time('conversation_index', () =>
        conversations.touch(conversationTouches).catch((err: unknown) => log.warn({ err, users: conversationTouches.length }, 'conversation index update failed')),
      ),
    ]);
    const byPlan = new Map(survivors.map((p, i) => [p, assigned[i]]));
    return plans.map((p) => byPlan.get(p));
  }

  /**
   * The rows of messages whose shard lives on another server, committed there
   * before the master's transaction, each server in one transaction (all at
   * once). With them go the messages' idempotency keys, in that server's
   * IMMsgIdempotency: a retry after the master's part failed finds its key
   * there and takes the stored msg id instead of storing a second row ("roll
   * forward"). Returns the messages now stored on their server; the others
   * (server down, unknown outcome) are answered STORE_FAILED by the caller.
   *
   * A server that does not answer (hung, unreachable without a refusal) is
   * given up on after the shard timeout, so it does not hold back the rest of
   * the batch and every later one. Its transaction may still commit: the
   * retry then finds the keys and completes the messages, as above.
   */
  private async storeOnRemoteShards(shards: MessageShardServers, plans: Planned[], specs: readonly CounterSpec[], now: number): Promise<Set<Planned>> {
    const done = new Set<Planned>();
    const timeoutMs = this.deps.shardTimeoutMs ?? DEFAULT_SHARD_TIMEOUT_MS;
    await Promise.all(
      [...shards.group(plans, (p) => p.conversationId)].map(async ([server, list]) => {
        const attempt: ShardAttempt = { abandoned: false };
        const storing = this.storeOnShardServer(server, list, specs, now, attempt);
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, timeoutMs, undefined)));
        const stored = await Promise.race([storing, timedOut]);
        clearTimeout(timer);
        if (stored === undefined) {
          attempt.abandoned = true;
          // A statement waiting on the hung server dies with its connection: unless it was the COMMIT, nothing of it stays.
          attempt.conn?.destroy();
          this.deps.log.error({ server: server.name, messages: list.length, timeoutMs }, 'shard server did not answer in time; its messages get no ACK');
          return;
        }
        for (const p of stored) done.add(p);
      }),
    );
    return done;
  }

  private async storeOnShardServer(server: ShardServer, plans: Planned[], specs: readonly CounterSpec[], now: number, attempt: ShardAttempt): Promise<Planned[]> {
    const { log, ids } = this.deps;
    const stored: Planned[] = [];
    let pending = plans;
    for (let round = 1; pending.length > 0 && !attempt.abandoned; round += 1) {
      try {
        await this.commitShardRows(server, pending, now, attempt);
        stored.push(...pending);
        break;
      } catch (err) {
        const duplicate = duplicateKeyName(err);
        if (duplicate === IDEMPOTENCY_UNIQUE_KEY && round < MAX_STORE_ROUNDS) {
          try {
            const claimed = await server.idempotency.claimed(
              pending.filter((p) => p.a.p.idemKey !== undefined).map((p) => ({ fromId: p.a.p.msg.fromUserId, idemKey: p.a.p.idemKey ?? '' })),
              now - this.deps.dedupeWindowSec,
            );
            const rest: Planned[] = [];
            const rolled: Planned[] = [];
            for (const p of pending) {
              const msgId = p.a.p.idemKey === undefined ? undefined : claimed.get(idemMapKey({ fromId: p.a.p.msg.fromUserId, idemKey: p.a.p.idemKey }));
              if (msgId === undefined) rest.push(p);
              else {
                // The master's part of this commit is written with the stored id.
                p.msgId = msgId;
                rolled.push(p);
              }
            }
            await this.pointRowsAtNewAudio(server, rolled);
            log.info({ server: server.name, messages: rolled.length }, 'messages already on their shard server (an earlier commit stopped before the master); completing them');
            stored.push(...rolled);
            pending = rest;
            continue;
          } catch (checkErr) {
            log.error({ err: checkErr, server: server.name, messages: pending.length }, 'stored message ids not read from the shard server; senders get no ACK');
            break;
          }
        }
        if (MESSAGE_ID_UNIQUE_KEYS.has(duplicate ?? '')) {
          const mine = specs.filter((s) => s.pool === server.pool);
          await ids.raiseToStored(mine).catch((raiseErr: unknown) => log.warn({ err: raiseErr }, 'raising message id counters failed'));
        }
        if (isPoolQueueFull(err)) this.refusals.refuse('mysql_pool_queue_full', `message commit on shard server ${server.name}`, { messages: pending.length });
        else log.error({ err, server: server.name, messages: pending.length }, 'storing messages on their shard server failed; senders get no ACK');
        break;
      }
    }
    return stored;
  }

  /** One transaction on the shard server: the idempotency keys first (a retried key fails it before any row), then the rows. */
  private async commitShardRows(server: ShardServer, plans: readonly Planned[], now: number, attempt: ShardAttempt): Promise<void> {
    const batch = new SqlBatch();
    server.idempotency.addRows(
      batch,
      plans
        .filter((p) => p.a.p.idemKey !== undefined)
        .map((p) => ({
          fromId: p.a.p.msg.fromUserId,
          idemKey: p.a.p.idemKey ?? '',
          sessionType: p.group ? SESSION_TYPE_GROUP : SESSION_TYPE_SINGLE,
          toId: p.a.p.msg.toSessionId,
          msgId: p.msgId,
          created: now,
        })),
    );
    const rows = plans.filter((p) => !p.group).map(messageRowOf);
    const groupRows = plans.filter((p) => p.group).map(groupRowOf);
    addMessageInserts(batch, rows);
    addGroupMessageInserts(batch, groupRows);
    const conn = await server.writer.getConnection();
    let usable = true;
    try {
      // Given up on while it waited for a connection: its senders were answered, nothing is written.
      if (attempt.abandoned) throw new Error(`shard server ${server.name}: commit given up before it started`);
      attempt.conn = conn;
      await batch.runInTransaction(conn);
    } catch (err) {
      if (!attempt.abandoned && (await rolledBack(conn, err))) throw err;
      usable = false;
      conn.destroy();
      // Given up on: its senders were answered; a retry finds whatever committed.
      if (attempt.abandoned) throw err;
      if (!(await this.committedDespite(server.pool, err, conn.threadId, probeOf(rows, groupRows), new Map()))) throw err;
    } finally {
      attempt.conn = undefined;
      if (usable) conn.release();
    }
  }

  /**
   * A message found already on its shard server carries the IMAudio id of the
   * attempt that stored it; that attempt's audio bytes never reached the
   * master, so its row takes this attempt's id (rare: audio, a failure, a retry).
   */
  private async pointRowsAtNewAudio(server: ShardServer, rolled: readonly Planned[]): Promise<void> {
    for (const p of rolled) {
      if (p.clip === undefined) continue;
      const sql = p.group
        ? `UPDATE ${groupMessageTable(p.conversationId)} SET content = ? WHERE groupId = ? AND msgId = ?`
        : `UPDATE ${messageTable(p.conversationId)} SET content = ? WHERE relateId = ? AND msgId = ?`;
      await server.pool.execute(sql, [p.content, p.conversationId, p.msgId]);
    }
  }

  /**
   * The connection died during the transaction (e.g. under COMMIT): find out
   * whether it committed, so a stored message is never answered "not stored".
   * When the master cannot tell, the original error stands (STORE_FAILED); a
   * sender that resends with the same idempotency key still gets one row.
   */
  private async committedDespite(pool: Pool, err: unknown, threadId: number, probe: RowProbe, taken: ReadonlyMap<string, number[]>): Promise<boolean> {
    const { log } = this.deps;
    try {
      const committed = await committedAfterLostConnection(pool, threadId, probe);
      log.warn({ err, committed, ids: Object.fromEntries(taken) }, 'message transaction lost its connection; outcome checked');
      return committed;
    } catch (checkErr) {
      log.error({ err, checkErr, ids: Object.fromEntries(taken) }, 'message transaction outcome unknown; its ids are not reused');
      return false;
    }
  }

  private refuse(a: Accepted, reason: string, code: string): void {
    this.reject(a.p, reason, code);
    for (const f of a.followers) this.reject(f, reason, code);
  }

  /** STORE_REJECTED (final); counted under `code` (a fixed snake_case reason), logged once per sender per interval. */
  private reject(p: PendingMessage, reason: string, code: string): void {
    this.refusals.refuse(code, `user ${p.msg.fromUserId}`, { to: p.msg.toSessionId, type: p.msg.msgType, detail: reason });
    p.done({ result: STORE_REJECTED, msgId: 0, reason });
  }

  /** 1:1 messages whose receiver is an IMUser id (one query per commit for ids not seen before). */
  private async admitReceivers(singles: Accepted[], receivers: KnownUsers): Promise<Accepted[]> {
    const unknown = await receivers.unknown(new Set(singles.map((a) => a.p.msg.toSessionId)));
    if (unknown.size === 0) return singles;
    const admitted: Accepted[] = [];
    for (const a of singles) {
      if (unknown.has(a.p.msg.toSessionId)) this.refuse(a, 'unknown receiver', 'message_unknown_receiver');
      else admitted.push(a);
    }
    return admitted;
  }

  /**
   * docs/FLOWS.md §10.2 step 2: the group must exist and the sender be a member
   * (Redis group_member_<gid>, rebuilt when missing); TierTalk's mutes refuse
   * a muted member, and everyone but the owner and admins while the whole
   * group is muted. One pipeline and one or two queries per commit.
   */
  private async admitGroupMessages(candidates: Accepted[], now: number): Promise<Accepted[]> {
    const groups = this.deps.groups;
    if (groups === undefined) {
      for (const c of candidates) this.refuse(c, 'group messages are not stored by this instance', 'message_invalid');
      return [];
    }
    const groupIds = candidates.map(({ p }) => p.msg.toSessionId);
    const [membersByGroup, rolesByGroup] = await Promise.all([groups.members.membersOf(groupIds), groups.members.rolesOf(groupIds)]);
    const wholeGroupMuted = [...rolesByGroup].filter(([, r]) => r.groupMutedUntil > now).map(([gid]) => gid);
    const creators = await groups.members.creatorsOf(wholeGroupMuted);
    const admitted: Accepted[] = [];
    for (const c of candidates) {
      const { fromUserId: from, toSessionId: groupId } = c.p.msg;
      const members = membersByGroup.get(groupId);
      const roles = rolesByGroup.get(groupId);
      if (members === undefined) this.refuse(c, 'unknown group', 'message_unknown_group');
      else if (!members.has(from)) this.refuse(c, 'not a member of the group', 'message_not_member');
      else if ((roles?.mutedUntil.get(from) ?? 0) > now) this.refuse(c, 'muted', 'message_muted');
      else if (roles !== undefined && roles.groupMutedUntil > now && creators.get(groupId) !== from && !roles.admins.has(from)) this.refuse(c, 'muted', 'message_muted');
      else admitted.push({ ...c, members });
    }
    return admitted;
  }

  private async discardAudio(audioIds: readonly number[]): Promise<void> {
    await this.deps.audio.discard(audioIds).catch((err: unknown) => this.deps.log.warn({ err, audioIds }, 'discarding unused IMAudio rows failed'));
  }
}

/** The answer to an item and to its followers (same idempotency key in the same batch). */
function answer(a: Accepted, outcome: StoreOutcome): void {
  a.p.done(outcome);
  for (const f of a.followers) f.done(outcome);
}

function stored(a: Accepted, msgId: number): StoreOutcome {
  return a.members === undefined ? { result: STORE_OK, msgId } : { result: STORE_OK, msgId, memberIds: [...a.members.keys()] };
}

function messageRowOf(p: Planned): MessageRow {
  const m = p.a.p.msg;
  return { relateId: p.conversationId, fromId: m.fromUserId, toId: m.toSessionId, msgId: p.msgId, content: p.content, type: m.msgType, created: p.created };
}

function groupRowOf(p: Planned): GroupMessageRow {
  const m = p.a.p.msg;
  return { groupId: p.conversationId, fromId: m.fromUserId, msgId: p.msgId, content: p.content, type: m.msgType, created: p.created };
}

/** The master's transaction without message rows (all on shard servers) still writes its counter outbox row. */
function outboxProbe(id: string): RowProbe {
  return { sql: 'SELECT 1 FROM IMCounterOutbox WHERE id = ? LIMIT 1', params: [id] };
}

/** A query that finds one row of the transaction if it committed. */
function probeOf(rows: readonly MessageRow[], groupRows: readonly GroupMessageRow[]): RowProbe {
  if (rows.length > 0) {
    const r = rows[0];
    return { sql: `SELECT 1 FROM ${messageTable(r.relateId)} WHERE relateId = ? AND msgId = ? LIMIT 1`, params: [r.relateId, r.msgId] };
  }
  const g = groupRows[0];
  return { sql: `SELECT 1 FROM ${groupMessageTable(g.groupId)} WHERE groupId = ? AND msgId = ? LIMIT 1`, params: [g.groupId, g.msgId] };
}

/**
 * After a failed transaction: true when MySQL surely rolled it back. A
 * statement error leaves the connection usable and SqlBatch has sent ROLLBACK;
 * one more ROLLBACK that succeeds proves no transaction is open. A lost
 * connection may have died after COMMIT reached the server: unknown.
 */
async function rolledBack(conn: PoolConnection, err: unknown): Promise<boolean> {
  if (isFatal(err)) return false;
  try {
    await conn.query('ROLLBACK');
    return true;
  } catch {
    return false;
  }
}

/** Why a 1:1 or group message cannot be stored, or what it stores (membership is checked later, per commit). */
export function checkMessage(m: IM.Message.IMMsgData.$Properties, audioMaxBytes = DEFAULT_AUDIO_MAX_BYTES): StorableContent | string {
  const group = isGroupMsgType(m.msgType);
  if (!group && m.msgType !== MSG_TYPE_SINGLE_TEXT && m.msgType !== MSG_TYPE_SINGLE_AUDIO) return `unknown message type ${m.msgType}`;
  if (m.fromUserId === 0 || m.toSessionId === 0) return group ? 'sender or group id is 0' : 'sender or receiver id is 0';
  if (!group && m.fromUserId === m.toSessionId) return 'message to self';
  if (m.msgData.length === 0) return 'empty message';
  if (m.msgType === MSG_TYPE_SINGLE_AUDIO || m.msgType === MSG_TYPE_GROUP_AUDIO) {
    // docs/FLOWS.md §4 step 3.4: 4-byte duration then the audio bytes; 4 bytes or less is refused.
    const audio = parseAudioPayload(m.msgData);
    if (typeof audio !== 'string' && audio.data.length > audioMaxBytes) return `audio larger than ${audioMaxBytes} bytes`;
    return typeof audio === 'string' ? audio : { audio };
  }
  // The column is utf8mb4 text: bytes that are not UTF-8 could not be stored byte-for-byte.
  if (!isUtf8(m.msgData)) return 'message content is not UTF-8 text';
  const text = Buffer.from(m.msgData.buffer, m.msgData.byteOffset, m.msgData.byteLength).toString('utf8');
  // UTF-16 length bounds the code-point count from above, so only long texts need counting.
  if (text.length > MAX_CONTENT_CHARS && [...text].length > MAX_CONTENT_CHARS) return `message longer than ${MAX_CONTENT_CHARS} characters`;
  return { text };
}
