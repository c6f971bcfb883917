import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { LRUCache } from 'lru-cache';

interface SessionRow extends RowDataPacket {
  userId: number;
  peerId: number;
}

export interface SessionTouch {
  userId: number;
  peerId: number;
  type: number;
  updated: number;
}

/**
 * IMRecentSession upkeep on the send path (flows.md §4 step 3.1/3.6): both
 * users' rows exist, are active (status 0) and carry the latest `updated`.
 * One row per (userId, peerId, type); the schema has no unique key, so rows
 * are looked up before insert and known rows are remembered.
 */
export class RecentSessionWriter {
  private readonly known = new LRUCache<string, true>({ max: 500_000 });

  async touch(conn: PoolConnection, touches: readonly SessionTouch[]): Promise<void> {
    if (touches.length === 0) return;
    // The latest time per row wins.
    const latest = new Map<string, SessionTouch>();
    for (const t of touches) {
      const key = `${t.type}:${t.userId}:${t.peerId}`;
      const prev = latest.get(key);
      if (prev === undefined || prev.updated < t.updated) latest.set(key, t);
    }
    const unknown = [...latest.entries()].filter(([k]) => !this.known.has(k)).map(([, t]) => t);
    for (const type of new Set(unknown.map((t) => t.type))) {
      const ofType = unknown.filter((t) => t.type === type);
      const [rows] = await conn.query<SessionRow[]>(
        `SELECT userId, peerId FROM IMRecentSession WHERE type = ? AND (userId, peerId) IN (${ofType.map(() => '(?, ?)').join(', ')})`,
        [type, ...ofType.flatMap((t) => [t.userId, t.peerId])],
      );
      const present = new Set(rows.map((r) => `${type}:${r.userId}:${r.peerId}`));
      const toInsert = ofType.filter((t) => !present.has(`${type}:${t.userId}:${t.peerId}`));
      if (toInsert.length > 0) {
        await conn.query(
          `INSERT INTO IMRecentSession (userId, peerId, type, status, created, updated) VALUES ${toInsert.map(() => '(?, ?, ?, 0, ?, ?)').join(', ')}`,
          toInsert.flatMap((t) => [t.userId, t.peerId, t.type, t.updated, t.updated]),
        );
      }
    }
    // Rows that existed (or were just inserted) get status 0 and the new time,
    // grouped by time so a batch costs a handful of UPDATEs.
    const byTime = new Map<string, SessionTouch[]>();
    for (const t of latest.values()) {
      const key = `${t.type}:${t.updated}`;
      let list = byTime.get(key);
      if (list === undefined) byTime.set(key, (list = []));
      list.push(t);
    }
    for (const list of byTime.values()) {
      const { type, updated } = list[0];
      await conn.query(
        `UPDATE IMRecentSession SET status = 0, updated = ? WHERE type = ? AND (userId, peerId) IN (${list.map(() => '(?, ?)').join(', ')})`,
        [updated, type, ...list.flatMap((t) => [t.userId, t.peerId])],
      );
    }
  }

  /** Called after the transaction commits, so a rolled-back insert is not remembered. */
  remember(touches: readonly SessionTouch[]): void {
    for (const t of touches) this.known.set(`${t.type}:${t.userId}:${t.peerId}`, true);
  }
}
