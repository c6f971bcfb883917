import type Redis from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';

// INCRBY only when the counter exists, so a lost counter is noticed instead of
// silently restarting at 1 (TeamTalk's weakness, storage.md §2).
const INCR_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return -1`;

interface MaxRow extends RowDataPacket {
  maxId: number | null;
}

type RedisWithScript = Redis & {
  ttIncrIfExists(key: string, n: number): Promise<number>;
};

export interface CounterSpec {
  /** Redis key of the counter (msg_id_<relateId> / group_msg_id_<groupId>). */
  key: string;
  /** How many ids to take. */
  count: number;
  /** SQL that yields the highest stored id as `maxId`, used when the counter is missing. */
  maxSql: string;
  maxParams: number[];
}

/**
 * Allocates per-conversation message ids from TeamTalk's Redis counters, many
 * conversations in one pipeline. Returns, per key, the last id taken: the ids
 * are `last - count + 1 … last`, in send order.
 */
export class MessageIdAllocator {
  private readonly redis: RedisWithScript;

  constructor(redis: Redis, private readonly master: Pool) {
    redis.defineCommand('ttIncrIfExists', { numberOfKeys: 1, lua: INCR_IF_EXISTS });
    this.redis = redis as RedisWithScript;
  }

  async allocate(specs: readonly CounterSpec[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const pipeline = this.redis.pipeline();
    for (const s of specs) (pipeline as unknown as RedisWithScript).ttIncrIfExists(s.key, s.count);
    const results = (await pipeline.exec()) ?? [];
    const missing: CounterSpec[] = [];
    specs.forEach((s, i) => {
      const [err, value] = results[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      const last = Number(value);
      if (last < 0) missing.push(s);
      else out.set(s.key, last);
    });
    for (const s of missing) out.set(s.key, await this.seedAndAllocate(s));
    return out;
  }

  /** Rebuild a lost counter from the shard's highest stored id, then take the ids. */
  private async seedAndAllocate(s: CounterSpec): Promise<number> {
    const [rows] = await this.master.query<MaxRow[]>(s.maxSql, s.maxParams);
    const max = Number(rows[0]?.maxId ?? 0);
    // NX: if another instance seeded it meanwhile, its value (>= ours) stands.
    await this.redis.set(s.key, String(max), 'NX');
    return Number(await this.redis.incrby(s.key, s.count));
  }
}
