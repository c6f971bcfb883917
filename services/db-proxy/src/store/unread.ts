import type Redis from 'ioredis';
import { redisKeys } from './keys';

/** HINCRBY unread_<to> <from> n for every (receiver, sender) of a batch, in one pipeline (storage.md §2). */
export async function incrementUnread(redis: Redis, counts: ReadonlyMap<string, { toId: number; fromId: number; n: number }>): Promise<void> {
  if (counts.size === 0) return;
  const pipeline = redis.pipeline();
  for (const { toId, fromId, n } of counts.values()) pipeline.hincrby(redisKeys.unread(toId), String(fromId), n);
  const results = (await pipeline.exec()) ?? [];
  for (const [err] of results) if (err) throw err;
}
