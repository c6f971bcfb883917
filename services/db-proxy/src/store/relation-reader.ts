import type { Pool, RowDataPacket } from 'mysql2/promise';
import { LRUCache } from 'lru-cache';
import { pairKey } from './relations';

interface RelationRow extends RowDataPacket {
  id: number;
  smallId: number;
  bigId: number;
}

// Pairs per SELECT; a user's unread list can name many peers.
const CHUNK = 500;

/**
 * Relate ids for the read paths (history, unread, sessions): looked up on the
 * replica, never created (docs/STORAGE.md §1.3: "reads never create a row"), many
 * pairs per query. Only found ids are cached: a pair without a relation may
 * get one with its first message.
 */
export class RelationReader {
  private readonly cache = new LRUCache<string, number>({ max: 200_000 });

  constructor(private readonly replica: Pool) {}

  async find(userId: number, peerId: number): Promise<number | undefined> {
    return (await this.findMany(userId, [peerId])).get(peerId);
  }

  /** peerId → relate id, for the peers that have an active relation with userId. */
  async findMany(userId: number, peerIds: readonly number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    const missing: number[] = [];
    for (const peer of new Set(peerIds)) {
      if (peer === userId || peer <= 0) continue;
      const hit = this.cache.get(pairKey(userId, peer));
      if (hit !== undefined) out.set(peer, hit);
      else missing.push(peer);
    }
    for (let i = 0; i < missing.length; i += CHUNK) {
      const chunk = missing.slice(i, i + CHUNK);
      const pairs = chunk.flatMap((peer) => (userId < peer ? [userId, peer] : [peer, userId]));
      const [rows] = await this.replica.query<RelationRow[]>(
        `SELECT id, smallId, bigId FROM IMRelationShip WHERE status = 0 AND (smallId, bigId) IN (${chunk.map(() => '(?, ?)').join(', ')}) ORDER BY id ASC`,
        pairs,
      );
      // Several active rows for one pair would be a data error; the oldest wins, as on the send path.
      for (const r of rows) {
        const peer = Number(r.smallId) === userId ? Number(r.bigId) : Number(r.smallId);
        if (out.has(peer)) continue;
        out.set(peer, Number(r.id));
        this.cache.set(pairKey(userId, peer), Number(r.id));
      }
    }
    return out;
  }
}
