import type Redis from 'ioredis';
import type { Result } from 'ioredis';
import { groupCounterKeys } from './group-message-reader';

// TeamTalk's group unread (storage.md §2, flows.md §10.2 step 2): the group's
// `<gid>_im_group_msg` count grows by one per message and each sender's
// `<uid>_<gid>_im_user_group` snapshot becomes the count right after their own
// message ("sender has read everything"). One script per group per commit:
// ARGV[1] = messages in the commit; for each sender key KEYS[i], ARGV[i] =
// messages of the commit stored after that sender's last one, so the snapshot
// is exact even when several members post in one commit.
const ADD = `
local total = redis.call('HINCRBY', KEYS[1], 'count', ARGV[1])
for i = 2, #KEYS do redis.call('HSET', KEYS[i], 'count', total - tonumber(ARGV[i])) end
return total`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ttGroupMsgAdd(keyCount: number, ...keysAndArgs: Array<string | number>): Result<number, Context>;
  }
}

export interface GroupCountDelta {
  groupId: number;
  count: number;
  /** sender id → messages of this commit after the sender's last one in the group. */
  senders: Map<number, number>;
}

export class GroupCounters {
  constructor(private readonly unreadRedis: Redis) {
    unreadRedis.defineCommand('ttGroupMsgAdd', { lua: ADD });
  }

  /** One pipeline for the whole commit. */
  async add(deltas: readonly GroupCountDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const pipeline = this.unreadRedis.pipeline();
    for (const d of deltas) {
      const keys = [groupCounterKeys.groupTotal(d.groupId), ...[...d.senders.keys()].map((uid) => groupCounterKeys.userRead(uid, d.groupId))];
      pipeline.ttGroupMsgAdd(keys.length, ...keys, d.count, ...d.senders.values());
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
  }

  /** Users whose unread of the group is reset (added or removed members, flows.md §10.4): snapshot = group count. */
  async markRead(groupId: number, userIds: readonly number[]): Promise<void> {
    if (userIds.length === 0) return;
    const keys = [groupCounterKeys.groupTotal(groupId), ...userIds.map((uid) => groupCounterKeys.userRead(uid, groupId))];
    // Adding 0 messages copies the current count to every user's snapshot.
    await this.unreadRedis.ttGroupMsgAdd(keys.length, ...keys, 0, ...userIds.map(() => 0));
  }
}
