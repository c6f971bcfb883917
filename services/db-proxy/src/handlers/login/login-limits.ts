import type Redis from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface LoginLimitOptions {
  /** Attempts of one name from one IP that may fail within the window. */
  failLimit: number;
  failWindowSec: number;
  /** Failed attempts from one IP (any names) within the same window. */
  ipFailLimit: number;
  /** Attempts (right or wrong) from one IP per rate window. */
  ipRateLimit: number;
  ipRateWindowSec: number;
}

/** Refusal reasons (RefusalLog / tt_refusals_total labels). */
export type LoginLimitReason = 'login_rate_ip' | 'login_locked_ip' | 'login_locked_user_ip';

export type LoginGate = { allowed: true } | { allowed: false; reason: LoginLimitReason; retryAfterSec: number };

/**
 * Login lockout and rate limits in Redis (rate-limiter-flexible's login
 * protection), shared by every db-proxy instance. Each attempt is counted
 * BEFORE its password is checked, by one atomic increment-and-compare (a Lua
 * script): of N parallel guesses only the limit's worth reach the check.
 * A right password then takes its attempt back (`succeeded`).
 *
 * Failures are counted per (name, client IP) and per IP, never per name
 * alone: a stranger guessing from other addresses does not lock the real user
 * out. The cost is that guessing one account from many addresses is bounded
 * only by each address's limits (and argon2id's cost per guess).
 */
export class LoginLimits {
  private readonly rate: RateLimiterRedis;
  private readonly ipFailures: RateLimiterRedis;
  private readonly userIpFailures: RateLimiterRedis;

  constructor(redis: Redis, opts: LoginLimitOptions) {
    const common = { storeClient: redis, rejectIfRedisNotReady: true };
    this.rate = new RateLimiterRedis({ ...common, keyPrefix: 'tt_login_rate_ip', points: opts.ipRateLimit, duration: opts.ipRateWindowSec });
    this.ipFailures = new RateLimiterRedis({ ...common, keyPrefix: 'tt_login_fail_ip', points: opts.ipFailLimit, duration: opts.failWindowSec });
    this.userIpFailures = new RateLimiterRedis({ ...common, keyPrefix: 'tt_login_fail_user_ip', points: opts.failLimit, duration: opts.failWindowSec });
  }

  /**
   * Counts one attempt and says whether it may go on to the password check.
   * `name` undefined: a name no account can have, counted per IP only.
   * `ip` undefined: a caller that sent no address; counted per name only.
   */
  async attempt(name: string | undefined, ip: string | undefined): Promise<LoginGate> {
    if (ip !== undefined) {
      const rate = await consume(this.rate, ip);
      if (rate !== undefined) return { allowed: false, reason: 'login_rate_ip', retryAfterSec: rate };
      const ipLocked = await consume(this.ipFailures, ip);
      if (ipLocked !== undefined) return { allowed: false, reason: 'login_locked_ip', retryAfterSec: ipLocked };
    }
    if (name !== undefined) {
      const locked = await consume(this.userIpFailures, userIpKey(name, ip));
      if (locked !== undefined) return { allowed: false, reason: 'login_locked_user_ip', retryAfterSec: locked };
    }
    return { allowed: true };
  }

  /** A right password: the (name, IP) failures are forgiven and the IP gets its attempt back. */
  async succeeded(name: string, ip: string | undefined): Promise<void> {
    await Promise.all([this.userIpFailures.delete(userIpKey(name, ip)), ip === undefined ? undefined : this.ipFailures.reward(ip, 1)]);
  }
}

function userIpKey(name: string, ip: string | undefined): string {
  // The name is at most 32 characters here; JSON keeps "a|b" + "c" apart from "a" + "b|c".
  return JSON.stringify([ip ?? '', name]);
}

/** undefined when the point was granted; the seconds until the next one otherwise. Redis errors propagate (fail closed). */
async function consume(limiter: RateLimiterRedis, key: string): Promise<number | undefined> {
  try {
    await limiter.consume(key);
    return undefined;
  } catch (err) {
    if (err instanceof RateLimiterRes) return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    throw err;
  }
}
