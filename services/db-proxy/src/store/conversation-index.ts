import { randomUUID } from 'node:crypto';
import { batch, type RedisClient } from '@tiertalk/redis';
import type { ChainableCommander, Result } from 'ioredis';

// The conversation index in the `sync` Redis instance (TeamTalk configures it
// but never uses it, docs/STORAGE.md §2). Layout after Easemob's user channels
// (a per-user sorted set of conversations plus a per-user hash of read cursors):
//
//   tt_conv_{<userId>}       zset   member `<sessionType>:<peerId, 10 digits>` → score
//   tt_conv_read_{<userId>}  hash   same member → highest msg id the user has read
//
// Score: Easemob uses a globally increasing message id; TeamTalk's ids are per
// conversation, so the score is the conversation's last activity in UNIX
// seconds — exactly the `updated` written to IMRecentSession in the same
// commit. With that choice the index and MySQL order conversations
// identically (ties: session type, then peer id, both descending — the
// zero-padded member makes Redis' lexicographic tie order numeric), so a list
// served from the index and one rebuilt from MySQL are the same; clients only
// ever see `updated_time` in seconds anyway.
//
// MySQL stays the source of truth. The index holds the newest `limit`
// conversations and expires after `ttlSec` without writes. Writers only update
// an index that exists (a fresh key would look complete while holding one
// entry); a missing index is rebuilt by the next reader. A rebuild first plants
// a sentinel member (score +inf) so that commits racing with it land in the
// index too (ZADD GT: scores never go back), and it installs its MySQL snapshot
// only if its own sentinel is still there (a session removal deletes the index,
// abandoning a rebuild that may have read the removed row).

const TOUCH = `
local limit = tonumber(ARGV[1])
local usable = false
if redis.call('EXISTS', KEYS[1]) == 1 then
  local building = #redis.call('ZRANGEBYSCORE', KEYS[1], '+inf', '+inf', 'LIMIT', 0, 1) > 0
  for i = 3, #ARGV, 3 do redis.call('ZADD', KEYS[1], 'GT', ARGV[i + 1], ARGV[i]) end
  if building then
    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(limit + 2))
  else
    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(limit + 1))
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    usable = true
  end
end
local wrote = false
for i = 3, #ARGV, 3 do
  local cursor = tonumber(ARGV[i + 2])
  if cursor > 0 then
    if cursor > tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0') then
      redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
    end
    wrote = true
  end
end
if wrote then
  if usable and redis.call('HLEN', KEYS[2]) > limit then
    for _, member in ipairs(redis.call('HKEYS', KEYS[2])) do
      if not redis.call('ZSCORE', KEYS[1], member) then redis.call('HDEL', KEYS[2], member) end
    end
  end
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return 1`;

// Read cursors of a read ack; bounded: cursors of conversations no longer in
// the index go first, and a hash that still overflows (acks for made-up
// sessions) is dropped — nothing a client sees depends on it.
const MARK_READ = `
local limit = tonumber(ARGV[3])
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
if redis.call('HLEN', KEYS[1]) > 2 * limit then
  for _, member in ipairs(redis.call('HKEYS', KEYS[1])) do
    if member ~= ARGV[1] and not redis.call('ZSCORE', KEYS[2], member) then redis.call('HDEL', KEYS[1], member) end
  end
  if redis.call('HLEN', KEYS[1]) > 2 * limit then redis.call('DEL', KEYS[1]) return 0 end
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1`;

const START_REBUILD = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('ZADD', KEYS[1], '+inf', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

const FINISH_REBUILD = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
for i = 4, #ARGV, 2 do redis.call('ZADD', KEYS[1], 'GT', ARGV[i + 1], ARGV[i]) end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ttConvTouch(conversations: string, cursors: string, ...args: Array<string | number>): Result<number, Context>;
    ttConvMarkRead(cursors: string, conversations: string, member: string, msgId: number, limit: number, ttlSec: number): Result<number, Context>;
    ttConvStartRebuild(conversations: string, token: string, ttlSec: number): Result<number, Context>;
    ttConvFinishRebuild(conversations: string, token: string, limit: number, ttlSec: number, ...pairs: Array<string | number>): Result<number, Context>;
  }
}

// A rebuild that dies leaves its sentinel; the key then expires after this.
const REBUILD_TTL_SEC = 30;
const SENTINEL_PREFIX = '~rebuild:';
const MEMBER = /^([12]):(\d{10})$/;

export const conversationKeys = {
  conversations: (userId: number) => `tt_conv_{${userId}}`,
  cursors: (userId: number) => `tt_conv_read_{${userId}}`,
} as const;

export interface ConversationRef {
  /** SessionType: 1 single, 2 group. */
  type: number;
  peerId: number;
}

export interface ConversationEntry extends ConversationRef {
  /** Last activity, UNIX seconds (= IMRecentSession.updated). */
  updated: number;
}

/** One user's conversation became active (a message in it); `readMsgId` when the user has read up to it (own message). */
export interface ConversationTouch extends ConversationEntry {
  userId: number;
  readMsgId?: number;
}

export type IndexRead =
  | { state: 'ready'; entries: ConversationEntry[] }
  /** No index: it was never built, expired or was flushed; rebuild it. */
  | { state: 'missing' }
  /** Being rebuilt, or trimmed below what was asked: ask MySQL. */
  | { state: 'unusable' };

export const conversationMember = (type: number, peerId: number): string => `${type}:${String(peerId).padStart(10, '0')}`;

function parseMember(member: string): ConversationRef | undefined {
  const m = MEMBER.exec(member);
  return m === null ? undefined : { type: Number(m[1]), peerId: Number(m[2]) };
}

export class ConversationIndex {
  constructor(
    private readonly redis: RedisClient,
    private readonly limit: number,
    private readonly ttlSec: number,
  ) {
    redis.defineCommand('ttConvTouch', { numberOfKeys: 2, lua: TOUCH });
    redis.defineCommand('ttConvMarkRead', { numberOfKeys: 2, lua: MARK_READ });
    redis.defineCommand('ttConvStartRebuild', { numberOfKeys: 1, lua: START_REBUILD });
    redis.defineCommand('ttConvFinishRebuild', { numberOfKeys: 1, lua: FINISH_REBUILD });
  }

  /** Adds one script call per user to `pipeline` (the commit's pipeline: never one per message). */
  addTouches(pipeline: ChainableCommander, touches: readonly ConversationTouch[]): void {
    const byUser = new Map<number, Map<string, { updated: number; read: number }>>();
    for (const t of touches) {
      let mine = byUser.get(t.userId);
      if (mine === undefined) byUser.set(t.userId, (mine = new Map()));
      const member = conversationMember(t.type, t.peerId);
      const prev = mine.get(member);
      const read = t.readMsgId ?? 0;
      if (prev === undefined) mine.set(member, { updated: t.updated, read });
      else mine.set(member, { updated: Math.max(prev.updated, t.updated), read: Math.max(prev.read, read) });
    }
    for (const [userId, members] of byUser) {
      const args: Array<string | number> = [this.limit, this.ttlSec];
      for (const [member, { updated, read }] of members) args.push(member, updated, read);
      pipeline.ttConvTouch(conversationKeys.conversations(userId), conversationKeys.cursors(userId), ...args);
    }
  }

  /** The touches of one commit, in one pipeline. */
  async touch(touches: readonly ConversationTouch[]): Promise<void> {
    if (touches.length === 0) return;
    const pipeline = batch(this.redis);
    this.addTouches(pipeline, touches);
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
  }

  /** Conversations with activity after `since`, newest first, at most `max`. */
  async recent(userId: number, since: number, max: number): Promise<IndexRead> {
    const key = conversationKeys.conversations(userId);
    const results =
      (await this.redis
        .pipeline()
        .zrangebyscore(key, '+inf', '+inf', 'LIMIT', 0, 1)
        .zcard(key)
        .zrevrangebyscore(key, '+inf', `(${since}`, 'WITHSCORES', 'LIMIT', 0, max)
        .exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    const [building, card, raw] = results.map(([, value]) => value);
    if (Number(card) === 0) return { state: 'missing' };
    if (Array.isArray(building) && building.length > 0) return { state: 'unusable' };
    const entries: ConversationEntry[] = [];
    if (Array.isArray(raw)) {
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const ref = parseMember(String(raw[i]));
        if (ref !== undefined) entries.push({ ...ref, updated: Number(raw[i + 1]) });
      }
    }
    // The index holds the newest `limit` conversations: its answer is whole
    // when it filled the page, when some entry was older than `since`, or when
    // nothing was ever trimmed from it.
    const complete = entries.length >= max || entries.length < Number(card) || Number(card) < this.limit;
    return complete ? { state: 'ready', entries } : { state: 'unusable' };
  }

  /**
   * Rebuilds a missing index from `load` (MySQL: the user's newest `limit`
   * active conversations). Returns false when another reader is already at it
   * or the index appeared meanwhile.
   */
  async rebuild(userId: number, load: (limit: number) => Promise<ConversationEntry[]>): Promise<boolean> {
    const key = conversationKeys.conversations(userId);
    const token = `${SENTINEL_PREFIX}${randomUUID()}`;
    if (Number(await this.redis.ttConvStartRebuild(key, token, REBUILD_TTL_SEC)) !== 1) return false;
    let snapshot: ConversationEntry[];
    try {
      snapshot = await load(this.limit);
    } catch (err) {
      // Commits may have landed in the half-built index: drop it whole.
      await this.redis.del(key);
      throw err;
    }
    const pairs: Array<string | number> = [];
    for (const e of snapshot) pairs.push(conversationMember(e.type, e.peerId), e.updated);
    return Number(await this.redis.ttConvFinishRebuild(key, token, this.limit, this.ttlSec, ...pairs)) === 1;
  }

  /** Read ack: the user's read cursor of that conversation (never moves back). */
  async markRead(userId: number, ref: ConversationRef, msgId: number): Promise<void> {
    await this.redis.ttConvMarkRead(
      conversationKeys.cursors(userId),
      conversationKeys.conversations(userId),
      conversationMember(ref.type, ref.peerId),
      msgId,
      this.limit,
      this.ttlSec,
    );
  }

  /** Read cursors of a user (tests, operators). */
  async cursors(userId: number): Promise<Map<string, number>> {
    const raw = await this.redis.hgetall(conversationKeys.cursors(userId));
    return new Map(Object.entries(raw).map(([member, id]) => [member, Number(id)]));
  }

  /**
   * A conversation was removed: the index is dropped rather than edited, since
   * the conversation it trimmed last may now belong in it; the next reader
   * rebuilds it from MySQL (and a rebuild in flight is abandoned).
   */
  async invalidate(userId: number): Promise<void> {
    await this.redis.del(conversationKeys.conversations(userId));
  }
}
