import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { LRUCache } from 'lru-cache';
import type { ConversationEntry } from './conversation-index';
import type { SqlBatch } from './sql-batch';

export interface SessionTouch {
  userId: number;
  peerId: number;
  type: number;
  updated: number;
}

const keyOf = (t: { type: number; userId: number; peerId: number }) => `${t.type}:${t.userId}:${t.peerId}`;

/**
 * IMRecentSession upkeep on the send path (docs/FLOWS.md §4 step 3.1/3.6): both
 * users' rows exist, are active (status 0) and carry the latest `updated`.
 * One row per (userId, peerId, type), held by a unique key (migration 0007),
 * so every touch is one upsert and concurrent writers cannot duplicate a
 * row. The rows bumped are remembered with the second they were last bumped:
 * `updated` has one-second resolution, so a busy conversation costs one
 * upsert per second, not one per message.
 */
export class RecentSessionWriter {
  private readonly bumpedAt = new LRUCache<string, number>({ max: 500_000 });

  /** Adds one multi-row upsert for these touches to the transaction batch. */
  addTouches(batch: SqlBatch, touches: readonly SessionTouch[]): void {
    // The latest time per row wins; rows already bumped this second are done.
    const latest = new Map<string, SessionTouch>();
    for (const t of touches) {
      const key = keyOf(t);
      const bumped = this.bumpedAt.get(key);
      if (bumped !== undefined && bumped >= t.updated) continue;
      const prev = latest.get(key);
      if (prev === undefined || prev.updated < t.updated) latest.set(key, t);
    }
    if (latest.size === 0) return;
    // Rows in key order: two instances upserting overlapping sets lock in the same order.
    const rows = [...latest.values()].sort((a, b) => a.userId - b.userId || a.peerId - b.peerId || a.type - b.type);
    batch.addRows(
      'INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated)',
      '(?, ?, ?, 0, ?, ?)',
      rows.map((t) => [t.userId, t.peerId, t.type, t.updated, t.updated]),
      'ON DUPLICATE KEY UPDATE status = 0, updated = GREATEST(updated, VALUES(updated))',
    );
  }

  /** Called after the transaction commits, so a rolled-back write is not remembered. */
  remember(touches: readonly SessionTouch[]): void {
    for (const t of touches) {
      const key = keyOf(t);
      if ((this.bumpedAt.get(key) ?? 0) < t.updated) this.bumpedAt.set(key, t.updated);
    }
  }

  /** A session removed by its owner (IMRemoveSessionReq) must be re-activated by the next message. */
  forget(t: { type: number; userId: number; peerId: number }): void {
    this.bumpedAt.delete(keyOf(t));
  }
}

interface ActiveSessionRow extends RowDataPacket {
  peerId: number;
  type: number;
  lastUpdated: number;
}

/**
 * A user's active sessions (status 0) with `updated > since`, newest first,
 * at most `limit` (docs/FLOWS.md §8). Ties are broken by session type, then peer
 * id, both descending — the conversation index's order, so a list served from
 * either is the same. Duplicate rows of one session (left by TeamTalk before
 * migration 0007) count once.
 */
export async function activeSessions(pool: Pool, userId: number, since: number, limit: number): Promise<ConversationEntry[]> {
  const [rows] = await pool.query<ActiveSessionRow[]>(
    `SELECT peerId, type, MAX(updated) AS lastUpdated FROM IMRecentSession
     WHERE userId = ? AND status = 0 AND type IN (1, 2) AND updated > ?
     GROUP BY type, peerId ORDER BY lastUpdated DESC, type DESC, peerId DESC LIMIT ?`,
    [userId, since, limit],
  );
  return rows.map((r) => ({ type: Number(r.type), peerId: Number(r.peerId), updated: Number(r.lastUpdated) }));
}

/** IMRemoveSessionReq: the user's active row(s) of the session get status 1 (docs/FLOWS.md §8); false when there was none. */
export async function markSessionRemoved(master: Pool, userId: number, type: number, peerId: number, nowSec: number): Promise<boolean> {
  const [res] = await master.query<ResultSetHeader>(
    'UPDATE IMRecentSession SET status = 1, updated = ? WHERE userId = ? AND peerId = ? AND type = ? AND status = 0',
    [nowSec, userId, peerId, type],
  );
  return res.affectedRows > 0;
}
