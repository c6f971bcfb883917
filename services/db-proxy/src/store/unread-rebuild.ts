import { batch, type RedisClient } from '@tiertalk/redis';
import type { Result } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import type { GroupMessageReader } from './group-message-reader';
import { groupCounterKeysFor } from './group-message-reader';
import { groupMessageTable, messageTable, redisKeys } from './keys';
import { ReadCursor, recentReadCursors } from './read-cursors';
import type { RelationReader } from './relation-reader';
import type { MessageShardServers } from './shard-servers';
import { epochNeedsRebuild, UnreadEpoch } from './unread-epoch';

// Unread counters after the unread Redis lost its data (docs/RELIABILITY.md
// "Unread counters"): before a user's unread count is answered, once per
// epoch (unread-epoch.ts), the user's counters of their recent sessions are
// computed from MySQL — messages from others after the user's read cursor —
// and written to Redis.
//
// The race with messages committed during the rebuild: the counts are written
// with HSET (the group snapshot likewise set, not added to). Increments that
// the counter outbox applied between the loss and the rebuild are thus
// replaced by the count, which includes their messages: with HINCRBY every
// message since the loss would count twice. What HSET leaves open is the
// window of one rebuild (milliseconds): a message committed after the MySQL
// read and counted before the HSET is lost from the count (one too few), one
// committed before the read and counted after the HSET counts twice (one too
// many). The next read ack of the conversation resets it either way.

/** Unread counted per conversation at most (a cursor far behind a busy conversation costs a bounded scan). */
export const MAX_REBUILT_UNREAD = 10_000;
// Conversations per UNION ALL query.
const CHUNK = 100;
// A claim not confirmed within this time (its instance died) is taken again.
const CLAIM_TTL_SEC = 60;

export const rebuiltMarkerKey = (epoch: string, userId: number): string => `tt_unread_rebuilt:${epoch}:${userId}`;

// KEYS[1] the group total, KEYS[2] the user's snapshot; ARGV[1] the group's
// newest msg id (the total when Redis has none), ARGV[2] the user's unread.
const SET_GROUP_UNREAD = `
redis.call('HSETNX', KEYS[1], 'count', ARGV[1])
local total = tonumber(redis.call('HGET', KEYS[1], 'count'))
redis.call('HSET', KEYS[2], 'count', total - tonumber(ARGV[2]))
return total`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ttSetGroupUnread(totalKey: string, userKey: string, newest: number, unread: number): Result<number, Context>;
  }
}

interface CountRow extends RowDataPacket {
  conversationId: number;
  n: number;
  newest: number;
}

export interface UnreadRebuildDeps {
  /** Cursors and counts are read on the master: a read ack just written must count. */
  master: Pool;
  /** The message shards' servers: the counts run where the rows live. */
  shards: MessageShardServers;
  unreadRedis: RedisClient;
  epoch: UnreadEpoch;
  relations: RelationReader;
  groups: GroupMessageReader;
  /** Recent sessions of the user rebuilt at most (TT_UNREAD_REBUILD_SESSIONS). */
  maxSessions: number;
}

export class UnreadRebuilder {
  /** userId → the epoch this instance saw the user's counters rebuilt in. */
  private readonly rebuilt = new LRUCache<number, string>({ max: 200_000 });
  private readonly running = new Map<number, Promise<void>>();

  constructor(private readonly deps: UnreadRebuildDeps) {
    deps.unreadRedis.defineCommand('ttSetGroupUnread', { numberOfKeys: 2, lua: SET_GROUP_UNREAD });
  }

  /** Rebuilds the user's counters unless that was done in the current epoch (by any instance). */
  async ensure(userId: number): Promise<void> {
    const epoch = await this.deps.epoch.current();
    if (!epochNeedsRebuild(epoch) || this.rebuilt.get(userId) === epoch) return;
    let run = this.running.get(userId);
    if (run === undefined) {
      run = this.claimAndRebuild(userId, epoch).finally(() => this.running.delete(userId));
      this.running.set(userId, run);
    }
    await run;
  }

  private async claimAndRebuild(userId: number, epoch: string): Promise<void> {
    const { unreadRedis } = this.deps;
    const marker = rebuiltMarkerKey(epoch, userId);
    if ((await unreadRedis.set(marker, '1', 'EX', CLAIM_TTL_SEC, 'NX')) !== 'OK') {
      this.rebuilt.set(userId, epoch);
      return;
    }
    try {
      await this.rebuild(userId);
      // Done: the marker lives as long as the epoch (both go with the Redis data).
      await unreadRedis.persist(marker);
    } catch (err) {
      await unreadRedis.del(marker).catch(() => undefined);
      throw err;
    }
    this.rebuilt.set(userId, epoch);
  }

  /** Computes the user's unread of each recent session with a cursor and writes it in one pipeline. */
  async rebuild(userId: number): Promise<void> {
    const { master, unreadRedis, relations, groups, maxSessions } = this.deps;
    const cursors = await recentReadCursors(master, userId, maxSessions);
    const singles = cursors.filter((c) => c.sessionType === 1);
    const groupCursors = cursors.filter((c) => c.sessionType === 2);
    const relateIds = singles.length === 0 ? new Map<number, number>() : await relations.findMany(userId, singles.map((c) => c.peerId));
    const memberOf = new Set(groupCursors.length === 0 ? [] : await groups.groupsOf(userId));

    const singleCounts = await this.count(
      singles.filter((c) => relateIds.has(c.peerId)),
      (c) => relateIds.get(c.peerId) ?? 0,
      (c, relateId) => ({
        sql: `SELECT ? AS conversationId, (SELECT COUNT(*) FROM (SELECT 1 FROM ${messageTable(relateId)} WHERE relateId = ? AND fromId = ? AND status = 0 AND msgId > ? LIMIT ?) AS x) AS n, 0 AS newest`,
        params: [relateId, relateId, c.peerId, c.msgId, MAX_REBUILT_UNREAD],
      }),
    );
    const groupCounts = await this.count(
      groupCursors.filter((c) => memberOf.has(c.peerId)),
      (c) => c.peerId,
      (c, groupId) => ({
        sql: `SELECT ? AS conversationId, (SELECT COUNT(*) FROM (SELECT 1 FROM ${groupMessageTable(groupId)} WHERE groupId = ? AND userId <> ? AND status = 0 AND msgId > ? LIMIT ?) AS x) AS n, (SELECT COALESCE(MAX(msgId), 0) FROM ${groupMessageTable(groupId)} WHERE groupId = ?) AS newest`,
        params: [groupId, groupId, userId, c.msgId, MAX_REBUILT_UNREAD, groupId],
      }),
    );

    const counterKeys = groupCounterKeysFor(unreadRedis);
    const pipeline = batch(unreadRedis);
    for (const c of singles) {
      const relateId = relateIds.get(c.peerId);
      const n = relateId === undefined ? 0 : (singleCounts.get(relateId)?.n ?? 0);
      if (n > 0) pipeline.hset(redisKeys.unread(userId), String(c.peerId), n);
      else pipeline.hdel(redisKeys.unread(userId), String(c.peerId));
    }
    for (const [groupId, { n, newest }] of groupCounts) {
      pipeline.ttSetGroupUnread(counterKeys.groupTotal(groupId), counterKeys.userRead(userId, groupId), newest, n);
    }
    if (pipeline.length === 0) return;
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
  }

  /** One UNION ALL query per 100 conversations per shard server: conversation id → unread and newest msg id. */
  private async count(
    cursors: readonly ReadCursor[],
    conversationOf: (c: ReadCursor) => number,
    select: (c: ReadCursor, conversationId: number) => { sql: string; params: number[] },
  ): Promise<Map<number, { n: number; newest: number }>> {
    const out = new Map<number, { n: number; newest: number }>();
    for (const [server, list] of this.deps.shards.group(cursors, conversationOf)) {
      for (let i = 0; i < list.length; i += CHUNK) {
        const parts = list.slice(i, i + CHUNK).map((c) => select(c, conversationOf(c)));
        const [rows] = await server.pool.query<CountRow[]>(
          parts.map((p) => `(${p.sql})`).join(' UNION ALL '),
          parts.flatMap((p) => p.params),
        );
        for (const r of rows) out.set(Number(r.conversationId), { n: Number(r.n), newest: Number(r.newest) });
      }
    }
    return out;
  }
}
