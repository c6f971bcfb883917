import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { LRUCache } from 'lru-cache';

interface RelationRow extends RowDataPacket {
  id: number;
  smallId: number;
  bigId: number;
  status: number;
}

export const pairKey = (a: number, b: number): string => (a < b ? `${a}:${b}` : `${b}:${a}`);

/**
 * IMRelationShip: one conversation id ("relate id") per unordered user pair
 * (docs/STORAGE.md §1.3). Ids never change once active, so they are cached.
 */
export class RelationStore {
  private readonly cache = new LRUCache<string, number>({ max: 200_000 });

  constructor(private readonly master: Pool) {}

  /** Relate ids for the pairs, creating or re-activating missing ones (only the send path may). */
  async resolveForSend(pairs: ReadonlyArray<readonly [number, number]>, nowSec: number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const missing = new Map<string, [number, number]>();
    for (const [a, b] of pairs) {
      const key = pairKey(a, b);
      const hit = this.cache.get(key);
      if (hit !== undefined) out.set(key, hit);
      else missing.set(key, a < b ? [a, b] : [b, a]);
    }
    if (missing.size === 0) return out;

    const found = await this.selectActive([...missing.values()], this.master);
    for (const [key, id] of found) {
      out.set(key, id);
      this.cache.set(key, id);
      missing.delete(key);
    }
    // New pairs are rare (first message between two people); each is created
    // under a named lock so two db-proxy instances never create the same pair twice.
    for (const [key, [small, big]] of missing) {
      const id = await this.create(small, big, nowSec);
      out.set(key, id);
      this.cache.set(key, id);
    }
    return out;
  }

  /** Relate id of an active pair without creating it (reads never create rows). */
  async find(a: number, b: number): Promise<number | undefined> {
    const key = pairKey(a, b);
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const found = await this.selectActive([a < b ? [a, b] : [b, a]], this.master);
    const id = found.get(key);
    if (id !== undefined) this.cache.set(key, id);
    return id;
  }

  private async selectActive(pairs: Array<[number, number]>, db: Pool | PoolConnection): Promise<Map<string, number>> {
    const placeholders = pairs.map(() => '(?, ?)').join(', ');
    const [rows] = await db.query<RelationRow[]>(
      `SELECT id, smallId, bigId FROM IMRelationShip WHERE status = 0 AND (smallId, bigId) IN (${placeholders}) ORDER BY id ASC`,
      pairs.flat(),
    );
    const out = new Map<string, number>();
    // Several active rows for one pair would be a data error; the oldest wins, consistently.
    for (const r of rows) if (!out.has(pairKey(r.smallId, r.bigId))) out.set(pairKey(r.smallId, r.bigId), r.id);
    return out;
  }

  private async create(small: number, big: number, nowSec: number): Promise<number> {
    const conn = await this.master.getConnection();
    const lock = `tt_relation_${small}_${big}`;
    try {
      await conn.query('SELECT GET_LOCK(?, 10)', [lock]);
      const again = await this.selectActive([[small, big]], conn);
      const existing = again.get(pairKey(small, big));
      if (existing !== undefined) return existing;
      // docs/STORAGE.md §1.3: a deleted row of the pair is re-activated rather than duplicated.
      const [old] = await conn.query<RelationRow[]>(
        'SELECT id FROM IMRelationShip WHERE smallId = ? AND bigId = ? ORDER BY id ASC LIMIT 1',
        [small, big],
      );
      if (old[0] !== undefined) {
        await conn.query('UPDATE IMRelationShip SET status = 0, updated = ? WHERE id = ?', [nowSec, old[0].id]);
        return old[0].id;
      }
      const [res] = await conn.query<import('mysql2/promise').ResultSetHeader>(
        'INSERT INTO IMRelationShip (smallId, bigId, status, created, updated) VALUES (?, ?, 0, ?, ?)',
        [small, big, nowSec, nowSec],
      );
      return res.insertId;
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lock]).catch(() => undefined);
      conn.release();
    }
  }
}
