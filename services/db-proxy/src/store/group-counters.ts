import { defineVariadicScript, type RedisClient } from '@tiertalk/redis';
import type { Result } from 'ioredis';
import { groupCounterKeysFor, type GroupCounterKeys } from './group-message-reader';

// TeamTalk's group unread (docs/STORAGE.md §2): the group's `<gid>_im_group_msg`
// count and each member's `<uid>_<gid>_im_user_group` snapshot of it. Messages
// add to them through the counter outbox (counter-outbox.ts); this resets
// members' snapshots: KEYS[1] the group count, ARGV[1] messages to add (0
// here), and each snapshot KEYS[i] becomes the total minus ARGV[i].
const ADD = `
local total = redis.call('HINCRBY', KEYS[1], 'count', ARGV[1])
for i = 2, #KEYS do redis.call('HSET', KEYS[i], 'count', total - tonumber(ARGV[i])) end
return total`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ttGroupMsgAdd(keyCount: number, ...keysAndArgs: Array<string | number>): Result<number, Context>;
  }
}

export class GroupCounters {
  private readonly keys: GroupCounterKeys;

  constructor(private readonly unreadRedis: RedisClient) {
    defineVariadicScript(unreadRedis, 'ttGroupMsgAdd', ADD);
    this.keys = groupCounterKeysFor(unreadRedis);
  }

  /** Users whose unread of the group is reset (added or removed members, docs/FLOWS.md §10.4): snapshot = group count. */
  async markRead(groupId: number, userIds: readonly number[]): Promise<void> {
    if (userIds.length === 0) return;
    const keys = [this.keys.groupTotal(groupId), ...userIds.map((uid) => this.keys.userRead(uid, groupId))];
    // Adding 0 messages copies the current count to every user's snapshot.
    await this.unreadRedis.ttGroupMsgAdd(keys.length, ...keys, 0, ...userIds.map(() => 0));
  }
}
