import { batch, slotTag, type RedisClient } from '@tiertalk/redis';
import type { Result } from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { groupMessageTable, redisKeys } from './keys';
import { ConversationMessage, GROUP_SHARDS, MessageRecord, ShardedMessages } from './message-reader';
import type { MessageShardServers } from './shard-servers';

// The group side of the offline reads (docs/FLOWS.md §6, §7, §8), as docs/FLOWS.md
// describes them, so unread, history and sessions are whole once groups are
// written (issue 5 owns group writes; this is the read seam it plugs into).
// Membership is Redis `group_member_<gid>` (field = user, value = join time);
// when that hash is missing the IMGroupMember row is consulted (read-only:
// rebuilding the hash is the group writer's job).

export interface GroupCounterKeys {
  /** hash, field `count`: messages ever sent to the group. */
  groupTotal(groupId: number): string;
  /** hash, field `count`: the group total when the user last read (snapshot). */
  userRead(userId: number, groupId: number): string;
}

/**
 * TeamTalk's group unread counters (docs/STORAGE.md §2), in the unread
 * instance. Scripts touch a group's total with members' snapshots, so on a
 * Redis Cluster the group id is their hash tag (`{<gid>}_im_group_msg`,
 * `<uid>_{<gid>}_im_user_group`); on one server the names are TeamTalk's.
 */
export function groupCounterKeysFor(redis: RedisClient): GroupCounterKeys {
  return {
    groupTotal: (groupId) => `${slotTag(redis, groupId)}_im_group_msg`,
    userRead: (userId, groupId) => `${userId}_${slotTag(redis, groupId)}_im_user_group`,
  };
}

/** The names on one Redis server (TeamTalk's). */
export const groupCounterKeys: GroupCounterKeys = {
  groupTotal: (groupId) => `${groupId}_im_group_msg`,
  userRead: (userId, groupId) => `${userId}_${groupId}_im_user_group`,
};

// HMSET copy of the group hash into the user's snapshot: "everything read".
const COPY_HASH = `
local src = redis.call('HGETALL', KEYS[1])
if #src == 0 then return 0 end
redis.call('HSET', KEYS[2], unpack(src))
return 1`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ttCopyHash(source: string, target: string): Result<number, Context>;
  }
}

export interface StoredGroupMessage extends MessageRecord {
  groupId: number;
}

interface MemberRow extends RowDataPacket {
  groupId: number;
  created: number;
}

const withGroupId = (m: ConversationMessage): StoredGroupMessage => ({ ...m, groupId: m.conversationId });

export class GroupMessageReader {
  private readonly shards: ShardedMessages;
  private readonly counterKeys: GroupCounterKeys;

  /**
   * @param replica group lists (tolerate lag)
   * @param master membership, an access check: a member just added or removed counts at once
   * @param shards the servers of the IMGroupMessage_n shards (history, latest)
   */
  constructor(
    private readonly replica: Pool,
    private readonly master: Pool,
    shards: MessageShardServers,
    private readonly groupMemberRedis: RedisClient,
    private readonly unreadRedis: RedisClient,
  ) {
    unreadRedis.defineCommand('ttCopyHash', { numberOfKeys: 2, lua: COPY_HASH });
    this.shards = new ShardedMessages(shards, GROUP_SHARDS);
    this.counterKeys = groupCounterKeysFor(unreadRedis);
  }

  /** The user's join time if they are a member of the group, else undefined. */
  async joinTime(userId: number, groupId: number): Promise<number | undefined> {
    const key = redisKeys.groupMembers(groupId);
    const results = (await this.groupMemberRedis.pipeline().hget(key, String(userId)).exists(key).exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    const value = results[0]?.[1];
    const exists = results[1]?.[1];
    if (typeof value === 'string' && value !== '') return Number(value);
    if (Number(exists) === 1) return undefined;
    const [rows] = await this.master.query<MemberRow[]>(
      'SELECT groupId, created FROM IMGroupMember WHERE groupId = ? AND userId = ? AND status = 0 ORDER BY id DESC LIMIT 1',
      [groupId, userId],
    );
    return rows[0] === undefined ? undefined : Number(rows[0].created);
  }

  /** Groups the user belongs to (IMGroupMember, status 0). */
  async groupsOf(userId: number): Promise<number[]> {
    const [rows] = await this.replica.query<MemberRow[]>('SELECT DISTINCT groupId, 0 AS created FROM IMGroupMember WHERE userId = ? AND status = 0', [
      userId,
    ]);
    return rows.map((r) => Number(r.groupId));
  }

  /** Group unread = group total − the user's snapshot (docs/FLOWS.md §7.1); groups without a total are skipped. */
  async unreadCounts(userId: number, groupIds: readonly number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    if (groupIds.length === 0) return out;
    const pipeline = batch(this.unreadRedis);
    for (const gid of groupIds) pipeline.hget(this.counterKeys.groupTotal(gid), 'count').hget(this.counterKeys.userRead(userId, gid), 'count');
    const results = (await pipeline.exec()) ?? [];
    groupIds.forEach((gid, i) => {
      const [errTotal, total] = results[2 * i] ?? [new Error('no reply'), null];
      const [errRead, read] = results[2 * i + 1] ?? [new Error('no reply'), null];
      if (errTotal) throw errTotal;
      if (errRead) throw errRead;
      if (typeof total !== 'string' || total === '') return;
      const count = Number(total) - (typeof read === 'string' && read !== '' ? Number(read) : 0);
      if (count > 0) out.set(gid, count);
    });
    return out;
  }

  /** History page of a member: created at or after the join time, newest first. */
  async page(groupId: number, joinTime: number, msgIdBegin: number, count: number): Promise<StoredGroupMessage[]> {
    return (await this.shards.page(groupId, msgIdBegin, count, joinTime)).map(withGroupId);
  }

  /** The member's rows with these msg ids (created at or after the join time), newest first, at most `max`. */
  async byIds(groupId: number, joinTime: number, msgIds: readonly number[], max: number): Promise<StoredGroupMessage[]> {
    return (await this.shards.byIds(groupId, msgIds, max, joinTime)).map(withGroupId);
  }

  /** The newest message of each group, with its real sender. */
  async latest(groupIds: readonly number[]): Promise<Map<number, StoredGroupMessage>> {
    const out = new Map<number, StoredGroupMessage>();
    for (const [id, m] of await this.shards.latest(groupIds)) out.set(id, withGroupId(m));
    return out;
  }

  /** Read ack / session removal of a group: the user's snapshot becomes the group total (docs/FLOWS.md §6). */
  async markRead(userId: number, groupId: number): Promise<void> {
    await this.unreadRedis.ttCopyHash(this.counterKeys.groupTotal(groupId), this.counterKeys.userRead(userId, groupId));
  }
}
