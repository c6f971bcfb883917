import { defineVariadicScript, type RedisClient } from '@tiertalk/redis';
import type { Result } from 'ioredis';
import { groupCounterKeysFor, type GroupCounterKeys } from '../../store/group-message-reader';
import { redisKeys } from '../../store/keys';

// A recalled message no longer counts as unread for whoever had not read it.
// 1:1: `unread_<to>` field <from> minus one, never below zero (gone at zero).
const SINGLE = `
local n = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if n <= 1 then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HINCRBY', KEYS[1], ARGV[1], -1) end
return n`;
// Groups: unread = group total − member snapshot, so each listed member's
// snapshot (KEYS[2..]) moves up by one where that leaves it at most the total.
const GROUP = `
local total = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
for i = 2, #KEYS do
  local snap = tonumber(redis.call('HGET', KEYS[i], 'count') or '0')
  if total - snap > 0 then redis.call('HINCRBY', KEYS[i], 'count', 1) end
end
return total`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ttRecallUnreadSingle(keyCount: number, ...keysAndArgs: Array<string | number>): Result<number, Context>;
    ttRecallUnreadGroup(keyCount: number, ...keysAndArgs: Array<string | number>): Result<number, Context>;
  }
}

export class RecallUnread {
  private readonly keys: GroupCounterKeys;

  constructor(private readonly unreadRedis: RedisClient) {
    defineVariadicScript(unreadRedis, 'ttRecallUnreadSingle', SINGLE);
    defineVariadicScript(unreadRedis, 'ttRecallUnreadGroup', GROUP);
    this.keys = groupCounterKeysFor(unreadRedis);
  }

  async single(receiverId: number, senderId: number): Promise<void> {
    await this.unreadRedis.ttRecallUnreadSingle(1, redisKeys.unread(receiverId), String(senderId));
  }

  async group(groupId: number, memberIds: readonly number[]): Promise<void> {
    if (memberIds.length === 0) return;
    const keys = [this.keys.groupTotal(groupId), ...memberIds.map((uid) => this.keys.userRead(uid, groupId))];
    await this.unreadRedis.ttRecallUnreadGroup(keys.length, ...keys);
  }
}
