import type Redis from 'ioredis';
import type { Result } from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';

// Message ids per conversation come from TeamTalk's Redis counters
// (`msg_id_<relateId>`, storage.md §2), taken before the MySQL transaction. A
// commit that fails must not leave a gap (flows.md §4 weakness (a)), so its
// ids are given back to a per-counter set of unused ids, `{<counter>}:tt_free`
// (the hash tag keeps it in the counter's cluster slot):
//  * TAKE hands out the lowest unused ids first, then increments the counter;
//  * GIVE_BACK adds the ids to the set, then lowers the counter while its value
//    is in the set — so when nobody took ids after the failed commit (the usual
//    case) the counter simply steps back and the set stays empty; when another
//    instance did, the ids wait in the set for the next message.
// Both run as Lua scripts, atomic against every db-proxy instance, and all
// state is in Redis, so a restart continues where the counter stands. The
// stored ids of a conversation are therefore always 1..N once in-flight
// commits finish. (A process killed between taking ids and committing cannot
// give them back; that gap is the one left.)

// A missing counter is reported (-1) instead of silently restarting at 1.
const TAKE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local want = tonumber(ARGV[1])
local ids = {}
local reused = redis.call('ZPOPMIN', KEYS[2], want)
for i = 1, #reused, 2 do ids[#ids + 1] = tonumber(reused[i]) end
local rest = want - #ids
if rest > 0 then
  local last = redis.call('INCRBY', KEYS[1], rest)
  for id = last - rest + 1, last do ids[#ids + 1] = id end
end
return ids`;

const GIVE_BACK = `
for i = 1, #ARGV do redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i]) end
local value = redis.call('GET', KEYS[1])
if not value then return -1 end
local last = tonumber(value)
local start = last
while last > 0 and redis.call('ZSCORE', KEYS[2], tostring(last)) do
  redis.call('ZREM', KEYS[2], tostring(last))
  last = last - 1
end
if last ~= start then redis.call('SET', KEYS[1], tostring(last)) end
return last`;

// Rebuild a lost counter from the highest stored id. NX: if another instance
// seeded it meanwhile, its value stands. Unused ids above the seed would be
// handed out twice (by the set and by the counter), so they are dropped.
const SEED = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
end
return 1`;

interface MaxRow extends RowDataPacket {
  maxId: number | null;
}

// The scripts as typed commands on clients and pipelines (ioredis' documented way).
declare module 'ioredis' {
  interface RedisCommander<Context> {
    ttTakeIds(counter: string, unused: string, count: number): Result<number[], Context>;
    ttGiveBackIds(counter: string, unused: string, ...ids: number[]): Result<number, Context>;
    ttSeedCounter(counter: string, unused: string, max: number): Result<number, Context>;
  }
}

export interface CounterSpec {
  /** Redis key of the counter (msg_id_<relateId> / group_msg_id_<groupId>). */
  key: string;
  /** How many ids to take. */
  count: number;
  /** SQL that yields the highest stored id as `maxId`, used when the counter is missing. */
  maxSql: string;
  maxParams: number[];
}

/** The set of ids given back by failed commits, next to its counter. */
export const unusedIdsKey = (counterKey: string): string => `{${counterKey}}:tt_free`;

/**
 * Allocates per-conversation message ids from TeamTalk's Redis counters, many
 * conversations in one pipeline, and takes back the ids of a failed commit.
 */
export class MessageIdAllocator {
  constructor(
    private readonly redis: Redis,
    private readonly master: Pool,
  ) {
    redis.defineCommand('ttTakeIds', { numberOfKeys: 2, lua: TAKE });
    redis.defineCommand('ttGiveBackIds', { numberOfKeys: 2, lua: GIVE_BACK });
    redis.defineCommand('ttSeedCounter', { numberOfKeys: 2, lua: SEED });
  }

  /** Per counter key, `count` ids in ascending order (send order). All or nothing: on failure the ids taken are given back. */
  async allocate(specs: readonly CounterSpec[]): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    try {
      const pipeline = this.redis.pipeline();
      for (const s of specs) pipeline.ttTakeIds(s.key, unusedIdsKey(s.key), s.count);
      const results = (await pipeline.exec()) ?? [];
      const missing: CounterSpec[] = [];
      let failure: unknown;
      specs.forEach((s, i) => {
        const [err, value] = results[i] ?? [new Error('no reply'), null];
        if (err) failure ??= err;
        else {
          const ids = toIds(value);
          if (ids.length === 1 && ids[0] < 0) missing.push(s);
          else out.set(s.key, ids);
        }
      });
      if (failure !== undefined) throw failure;
      for (const s of missing) out.set(s.key, await this.seedAndAllocate(s));
      for (const s of specs) {
        const ids = out.get(s.key);
        if (ids === undefined || ids.length !== s.count) throw new Error(`id allocation for ${s.key} returned ${ids?.length ?? 0} ids, wanted ${s.count}`);
      }
      return out;
    } catch (err) {
      await this.giveBack(out).catch(() => undefined);
      throw err;
    }
  }

  /** Gives back ids taken for a commit that did not happen (one pipeline). */
  async giveBack(taken: ReadonlyMap<string, readonly number[]>): Promise<void> {
    if (taken.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const [key, ids] of taken) if (ids.length > 0) pipeline.ttGiveBackIds(key, unusedIdsKey(key), ...ids);
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
  }

  private async seedAndAllocate(s: CounterSpec): Promise<number[]> {
    const [rows] = await this.master.query<MaxRow[]>(s.maxSql, s.maxParams);
    const max = Number(rows[0]?.maxId ?? 0);
    await this.redis.ttSeedCounter(s.key, unusedIdsKey(s.key), max);
    const ids = toIds(await this.redis.ttTakeIds(s.key, unusedIdsKey(s.key), s.count));
    if (ids.length === 1 && ids[0] < 0) throw new Error(`counter ${s.key} vanished while it was seeded`);
    return ids;
  }
}

function toIds(value: unknown): number[] {
  if (!Array.isArray(value)) throw new Error(`unexpected id allocation reply ${String(value)}`);
  return value.map((v) => Number(v));
}
