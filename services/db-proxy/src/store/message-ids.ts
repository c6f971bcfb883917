import { batch, type RedisClient } from '@tiertalk/redis';
import type { Result } from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';

// Message ids per conversation come from TeamTalk's Redis counters
// (`msg_id_<relateId>`, docs/STORAGE.md §2), taken before the MySQL transaction.
// An id is handed out once and never again: a commit that fails leaves a gap
// (clients already see gaps after a crash between taking and committing), and
// a later id is never followed by an earlier one. The message shards carry a
// unique key on (conversation, msgId) (migration 0006), so an id that comes
// out twice anyway — Redis lost the counter and it was re-seeded below what
// a racing commit stored — fails its transaction; the committer then raises
// the counter to the shard's MAX(msgId) and takes new ids.

// A missing counter is reported (-1) instead of silently restarting at 1.
const TAKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('INCRBY', KEYS[1], ARGV[1])`;

// Rebuild a lost counter from the highest stored id. NX: if another instance
// seeded it meanwhile, its value stands.
const SEED = `return redis.call('SET', KEYS[1], ARGV[1], 'NX') and 1 or 0`;

// Raise the counter to at least ARGV[1]; never lowers it (other instances
// may have taken ids above the stored maximum).
const RAISE = `
local value = tonumber(redis.call('GET', KEYS[1]) or '-1')
if value < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end
return value`;

interface MaxRow extends RowDataPacket {
  maxId: number | null;
}

// The scripts as typed commands on clients and pipelines (ioredis' documented way).
declare module 'ioredis' {
  interface RedisCommander<Context> {
    ttTakeIds(counter: string, count: number): Result<number, Context>;
    ttSeedCounter(counter: string, max: number): Result<number, Context>;
    ttRaiseCounter(counter: string, atLeast: number): Result<number, Context>;
  }
}

export interface CounterSpec {
  /** Redis key of the counter (msg_id_<relateId> / group_msg_id_<groupId>). */
  key: string;
  /** How many ids to take. */
  count: number;
  /** SQL that yields the highest stored id as `maxId`, used when the counter is missing or behind. */
  maxSql: string;
  maxParams: number[];
  /** Where maxSql runs: the server of the conversation's shard (default: the master). */
  pool?: Pool;
}

/** Unique keys of the message shards (migration 0006): a duplicate means an id came out twice. */
export const MESSAGE_ID_UNIQUE_KEYS: ReadonlySet<string> = new Set(['uk_relateId_msgId', 'uk_groupId_msgId']);

/**
 * Allocates per-conversation message ids from TeamTalk's Redis counters, many
 * conversations in one pipeline.
 */
export class MessageIdAllocator {
  constructor(
    private readonly redis: RedisClient,
    private readonly master: Pool,
  ) {
    redis.defineCommand('ttTakeIds', { numberOfKeys: 1, lua: TAKE });
    redis.defineCommand('ttSeedCounter', { numberOfKeys: 1, lua: SEED });
    redis.defineCommand('ttRaiseCounter', { numberOfKeys: 1, lua: RAISE });
  }

  /** Per counter key, `count` new ids in ascending order (send order). Ids taken by a failed call are not reused. */
  async allocate(specs: readonly CounterSpec[]): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    const pipeline = batch(this.redis);
    for (const s of specs) pipeline.ttTakeIds(s.key, s.count);
    const results = (await pipeline.exec()) ?? [];
    const missing: CounterSpec[] = [];
    specs.forEach((s, i) => {
      const [err, value] = results[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      const last = Number(value);
      if (last < 0) missing.push(s);
      else out.set(s.key, idsEndingAt(last, s.count));
    });
    for (const s of missing) out.set(s.key, await this.seedAndAllocate(s));
    return out;
  }

  /** After a duplicate (conversation, msgId): every counter of the commit goes up to its shard's highest stored id. */
  async raiseToStored(specs: readonly CounterSpec[]): Promise<void> {
    for (const s of specs) await this.redis.ttRaiseCounter(s.key, await this.storedMax(s));
  }

  private async seedAndAllocate(s: CounterSpec): Promise<number[]> {
    await this.redis.ttSeedCounter(s.key, await this.storedMax(s));
    const last = Number(await this.redis.ttTakeIds(s.key, s.count));
    if (last < 0) throw new Error(`counter ${s.key} vanished while it was seeded`);
    return idsEndingAt(last, s.count);
  }

  private async storedMax(s: CounterSpec): Promise<number> {
    const [rows] = await (s.pool ?? this.master).query<MaxRow[]>(s.maxSql, s.maxParams);
    return Number(rows[0]?.maxId ?? 0);
  }
}

function idsEndingAt(last: number, count: number): number[] {
  if (!Number.isSafeInteger(last) || last < count) throw new Error(`unexpected id counter value ${last} for ${count} ids`);
  return Array.from({ length: count }, (_, i) => last - count + 1 + i);
}
