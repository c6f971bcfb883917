import { LRUCache } from 'lru-cache';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { groupMessageTable, messageTable } from './keys';
import type { SqlBatch } from './sql-batch';

// Durable read positions (migration 0009): the newest msg id a user has read
// in a conversation. Redis unread counters are rebuilt from them after Redis
// lost its data (unread-rebuild.ts). A cursor only ever moves forward.

/** sessionType: 1 = 1:1 (peerId the other user), 2 = group (peerId the group id). */
export interface ReadCursor {
  userId: number;
  peerId: number;
  sessionType: number;
  msgId: number;
}

const UPSERT_TAIL = 'ON DUPLICATE KEY UPDATE msgId = GREATEST(msgId, VALUES(msgId)), updated = VALUES(updated)';

const keyOf = (c: { userId: number; peerId: number; sessionType: number }): string => `${c.userId}:${c.peerId}:${c.sessionType}`;

/**
 * The cursors a message commit writes, as one multi-row upsert in the message
 * transaction (no extra round trip):
 * - the sender's: they have read what they sent, so it moves to their message;
 * - a 1:1 receiver's first one: created just below the first message received
 *   once cursors exist (so that message and later ones count after a loss,
 *   and older history does not), never moved by a received message. These
 *   rows carry `updated = 0` ("nothing read yet"), which the upsert uses to
 *   leave an existing cursor as it is. The rows known to exist are remembered,
 *   so a busy conversation does not re-send them.
 */
export class ReadCursorWriter {
  private readonly known = new LRUCache<string, true>({ max: 500_000 });

  add(batch: SqlBatch, own: readonly ReadCursor[], received: readonly ReadCursor[], nowSec: number): ReadCursor[] {
    const rows = new Map<string, ReadCursor & { updated: number }>();
    for (const c of own) {
      const prev = rows.get(keyOf(c));
      if (prev === undefined || prev.msgId < c.msgId) rows.set(keyOf(c), { ...c, updated: nowSec });
    }
    for (const c of received) {
      const key = keyOf(c);
      if (this.known.has(key)) continue;
      const prev = rows.get(key);
      if (prev === undefined || (prev.updated === 0 && prev.msgId > c.msgId - 1)) rows.set(key, { ...c, msgId: c.msgId - 1, updated: 0 });
    }
    if (rows.size === 0) return [];
    // Key order: two instances upserting overlapping rows lock them in the same order.
    const sorted = [...rows.values()].sort((a, b) => a.userId - b.userId || a.peerId - b.peerId || a.sessionType - b.sessionType);
    batch.addRows(
      'INSERT INTO IMReadCursor (userId, peerId, sessionType, msgId, updated)',
      '(?, ?, ?, ?, ?)',
      sorted.map((c) => [c.userId, c.peerId, c.sessionType, c.msgId, c.updated]),
      'ON DUPLICATE KEY UPDATE msgId = IF(VALUES(updated) = 0, msgId, GREATEST(msgId, VALUES(msgId))), updated = IF(VALUES(updated) = 0, updated, VALUES(updated))',
    );
    return sorted;
  }

  /** Called after the transaction commits: these rows exist now. */
  remember(written: readonly ReadCursor[]): void {
    for (const c of written) this.known.set(keyOf(c), true);
  }
}

/**
 * Read ack: the cursor moves to msgId, but never past the newest stored
 * message of the conversation (a client's msg id is not trusted: a cursor far
 * ahead would hide every later message from a rebuild). `conversationId` is
 * the relation id for 1:1, the group id for groups; `shardPool` the server
 * holding its shard (the master unless TT_MYSQL_SHARDS maps it elsewhere).
 */
export async function advanceReadCursor(master: Pool, shardPool: Pool, cursor: ReadCursor, conversationId: number, nowSec: number): Promise<void> {
  // A plain read first: an INSERT … SELECT would lock the shard's newest rows against the message commits.
  const [rows] = await shardPool.query<NewestRow[]>(
    cursor.sessionType === 2
      ? `SELECT MAX(msgId) AS newest FROM ${groupMessageTable(conversationId)} WHERE groupId = ?`
      : `SELECT MAX(msgId) AS newest FROM ${messageTable(conversationId)} WHERE relateId = ?`,
    [conversationId],
  );
  const msgId = Math.min(cursor.msgId, Number(rows[0]?.newest ?? 0));
  if (msgId <= 0) return;
  await master.query(`INSERT INTO IMReadCursor (userId, peerId, sessionType, msgId, updated) VALUES (?, ?, ?, ?, ?) ${UPSERT_TAIL}`, [
    cursor.userId,
    cursor.peerId,
    cursor.sessionType,
    msgId,
    nowSec,
  ]);
}

interface NewestRow extends RowDataPacket {
  newest: number | null;
}

interface CursorRow extends RowDataPacket {
  peerId: number;
  sessionType: number;
  msgId: number;
}

/**
 * The user's cursors of their most recent active sessions (IMRecentSession,
 * status 0), at most `limit`. A session without a cursor row (data from before
 * cursors existed) is not returned: its unread is unknown and counts 0.
 */
export async function recentReadCursors(pool: Pool, userId: number, limit: number): Promise<ReadCursor[]> {
  const [rows] = await pool.query<CursorRow[]>(
    `SELECT c.peerId, c.sessionType, c.msgId FROM IMRecentSession s
       JOIN IMReadCursor c ON c.userId = s.userId AND c.peerId = s.peerId AND c.sessionType = s.type
      WHERE s.userId = ? AND s.status = 0 AND s.type IN (1, 2)
      ORDER BY s.updated DESC, s.type DESC, s.peerId DESC LIMIT ?`,
    [userId, limit],
  );
  return rows.map((r) => ({ userId, peerId: Number(r.peerId), sessionType: Number(r.sessionType), msgId: Number(r.msgId) }));
}
