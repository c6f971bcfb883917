import type { Pool } from 'mysql2/promise';
import type { Logger } from '@tiertalk/log';
import { IM } from '@tiertalk/proto';
import type { AudioStore } from '../../../store/audio-store';
import type { ConversationIndex } from '../../../store/conversation-index';
import type { CounterOutbox } from '../../../store/counter-outbox';
import { addGroupChatted, addGroupMessageInserts } from '../../../store/group-messages';
import type { IdempotencyStore } from '../../../store/idempotency';
import { MESSAGE_ID_UNIQUE_KEYS, MessageIdAllocator } from '../../../store/message-ids';
import { addMessageInserts } from '../../../store/messages';
import { duplicateKeyName } from '../../../store/mysql-errors';
import { ReadCursor, ReadCursorWriter } from '../../../store/read-cursors';
import type { RecentSessionWriter } from '../../../store/recent-sessions';
import { SqlBatch } from '../../../store/sql-batch';
import { runTransaction, surelyRolledBack } from '../../../store/transaction-runner';
import type { CommitTimings } from '../commit-metrics';
import type { CommitPlan, CommitPlanner } from './plan';
import { masterRows } from './plan';
import { Planned, probeOf } from './types';

// The master transaction of a commit: message rows of the shards on the
// master, idempotency keys, the counter outbox row, group "last chatted",
// audio bytes, IMRecentSession and IMReadCursor rows — one transaction, run
// by runTransaction (the one place that rolls back and retries). Once it
// committed, the counters go to Redis and the conversation index is touched.

const { SESSION_TYPE_GROUP } = IM.BaseDefine.SessionType;

export interface MasterTransactionDeps {
  /** The message transaction's own pool (one statement per round trip, prepared). */
  writer: Pool;
  /** Plain master pool: the check of an unknown commit outcome. */
  master: Pool;
  counterOutbox: CounterOutbox;
  idempotency: IdempotencyStore;
  ids: MessageIdAllocator;
  sessions: RecentSessionWriter;
  audio: AudioStore;
  conversations: ConversationIndex;
  log: Logger;
}

export class MasterTransaction {
  /** Second in which each group's members' session rows were last bumped (at most once per second per group). */
  private readonly groupSessionsBumpedAt = new Map<number, number>();
  /** IMReadCursor rows known to exist (one upsert per transaction). */
  private readonly readCursors = new ReadCursorWriter();

  constructor(
    private readonly deps: MasterTransactionDeps,
    private readonly planner: CommitPlanner,
  ) {}

  /**
   * Commits the master's part of `survivors` (messages not lost on a remote
   * shard); throws when it did not commit (a duplicate key, MySQL down).
   */
  async commit(survivors: readonly Planned[], plan: CommitPlan, now: number, timings: CommitTimings): Promise<void> {
    const { writer, master, counterOutbox, audio, sessions, conversations, idempotency, ids, log } = this.deps;
    const isRemote = this.planner.isRemote;
    const m = masterRows(survivors, isRemote, now);
    // Audio ids a failed master transaction may discard: those no committed remote row refers to.
    const localAudioIds = survivors.filter((p) => !isRemote(p) && p.clip !== undefined).map((p) => plan.audioIds[p.clip ?? 0]);
    const liveClips = survivors.filter((p) => p.clip !== undefined);

    // Instead of TeamTalk's 5-second sync thread: every member's group session
    // row is bumped at most once per second per group, and their conversation
    // index once per commit.
    const bumpedGroups: number[] = [];
    for (const [groupId, members] of m.groupMembers) {
      for (const userId of members.keys()) m.conversationTouches.push({ userId, peerId: groupId, type: SESSION_TYPE_GROUP, updated: now });
      if ((this.groupSessionsBumpedAt.get(groupId) ?? 0) >= now) continue;
      bumpedGroups.push(groupId);
      for (const userId of members.keys()) m.touches.push({ userId, peerId: groupId, type: SESSION_TYPE_GROUP, updated: now });
    }

    const outboxEntry = counterOutbox.entryFor({ unread: m.unread, groups: m.groupDeltas });
    const batch = new SqlBatch();
    // The idempotency rows first: a key already stored fails the transaction before any other write.
    idempotency.addRows(batch, m.idemRows);
    if (outboxEntry !== undefined) counterOutbox.addRow(batch, outboxEntry, now);
    addMessageInserts(batch, m.rows);
    addGroupMessageInserts(batch, m.groupRows);
    addGroupChatted(batch, [...m.groupMembers.keys()], now);
    audio.addData(
      batch,
      liveClips.map((p) => plan.audioIds[p.clip ?? 0]),
      liveClips.map((p) => plan.clips[p.clip ?? 0]),
    );
    sessions.addTouches(batch, m.touches);
    const cursorRows: ReadCursor[] = this.readCursors.add(batch, m.ownReads, m.receivedReads, now);
    // Without message rows (all on shard servers) the transaction still writes its counter outbox row.
    const probe = m.rows.length + m.groupRows.length > 0 ? probeOf(m.rows, m.groupRows) : { sql: 'SELECT 1 FROM IMCounterOutbox WHERE id = ? LIMIT 1', params: [outboxEntry?.id ?? ''] };
    try {
      await timings.time('transaction', () =>
        runTransaction(writer, batch, { checkPool: master, probe, log, context: { ids: Object.fromEntries(plan.taken) }, onStatement: timings.statement }),
      );
    } catch (err) {
      // The ids are not given back (never hand one out twice); a rolled-back commit leaves a gap.
      if (surelyRolledBack(err)) await this.planner.discardAudio(localAudioIds);
      if (MESSAGE_ID_UNIQUE_KEYS.has(duplicateKeyName(err) ?? '')) await ids.raiseToStored(plan.specs);
      throw err;
    }
    sessions.remember(m.touches);
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
        conversations.touch(m.conversationTouches).catch((err: unknown) => log.warn({ err, users: m.conversationTouches.length }, 'conversation index update failed')),
      ),
    ]);
  }
}
