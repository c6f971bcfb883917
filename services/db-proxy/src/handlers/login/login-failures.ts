import type Redis from 'ioredis';
import { redisKeys } from '../../store/keys';

/**
 * flows.md §2 rate limit: more than `limit` failures of one name within the
 * window refuse it. TeamTalk kept the list in one process's memory; here it
 * is a Redis list in the `token` instance so every db-proxy instance sees it
 * and a restart does not reset it.
 */
export class LoginFailures {
  constructor(
    private readonly redis: Redis,
    private readonly limit: number,
    private readonly windowSec: number,
  ) {}

  async isLocked(name: string, nowSec: number): Promise<boolean> {
    const stamps = await this.redis.lrange(redisKeys.loginFailures(name), 0, this.limit);
    const recent = stamps.map(Number).filter((t) => nowSec - t < this.windowSec);
    return recent.length > this.limit;
  }

  async recordFailure(name: string, nowSec: number): Promise<void> {
    const key = redisKeys.loginFailures(name);
    await this.redis
      .multi()
      .lpush(key, String(nowSec))
      .ltrim(key, 0, this.limit)
      .expire(key, this.windowSec)
      .exec();
  }

  async clear(name: string): Promise<void> {
    await this.redis.del(redisKeys.loginFailures(name));
  }
}
