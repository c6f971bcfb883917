import { batch, type RedisClient } from '@tiertalk/redis';
import { redisKeys } from './keys';

/**
 * UserTokenInfo.push_count (the badge): each user's 1:1 unread total, summed
 * over unread_<uid> (docs/STORAGE.md §2), one pipeline for all users. TeamTalk adds
 * group unread here too; group counters are not served yet.
 */
export async function singleUnreadTotals(unreadRedis: RedisClient, userIds: readonly number[]): Promise<Map<number, number>> {
  const totals = new Map<number, number>();
  if (userIds.length === 0) return totals;
  const pipeline = batch(unreadRedis);
  for (const id of userIds) pipeline.hvals(redisKeys.unread(id));
  const results = (await pipeline.exec()) ?? [];
  userIds.forEach((id, i) => {
    const [err, values] = results[i] ?? [null, []];
    if (err) throw err;
    let sum = 0;
    if (Array.isArray(values)) for (const v of values) sum += Number(v) > 0 ? Number(v) : 0;
    totals.set(id, sum);
  });
  return totals;
}
