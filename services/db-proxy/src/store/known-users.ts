import type { Pool, RowDataPacket } from 'mysql2/promise';
import { LRUCache } from 'lru-cache';

interface IdRow extends RowDataPacket {
  id: number;
}

/**
 * Which user ids exist in IMUser, for the send path: a 1:1 message to an id
 * nobody has must not create a relation, session rows and counters. Ids found
 * are remembered (bounded LRU; TeamTalk never deletes IMUser rows, it marks
 * them), so a busy conversation costs no query; ids not found are asked again
 * next time (a user created a moment ago is accepted at once), at most one
 * query per commit.
 */
export class KnownUsers {
  private readonly known: LRUCache<number, true>;

  constructor(
    private readonly master: Pool,
    max = 500_000,
  ) {
    // Bounded by maxSize, not max: `max` preallocates storage for every entry at start-up
    // (~12 MB and ~50 ms for 500,000), which a deployment with a few thousand users never fills.
    this.known = new LRUCache<number, true>({ maxSize: max, sizeCalculation: () => 1 });
  }

  /** The ids among `ids` that are not in IMUser. */
  async unknown(ids: Iterable<number>): Promise<Set<number>> {
    const ask = new Set<number>();
    for (const id of ids) if (!this.known.has(id)) ask.add(id);
    if (ask.size === 0) return ask;
    const list = [...ask];
    const [rows] = await this.master.query<IdRow[]>(`SELECT id FROM IMUser WHERE id IN (${list.map(() => '?').join(', ')})`, list);
    for (const r of rows) {
      const id = Number(r.id);
      this.known.set(id, true);
      ask.delete(id);
    }
    return ask;
  }
}
