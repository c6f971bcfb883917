import { slotTag, type RedisClient } from '@tiertalk/redis';
import { Cluster } from 'ioredis';

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

// Key prefixes as rate-limiter-flexible wrote them (it kept these counters
// before), so counts running at an upgrade carry over. On a Redis Cluster the
// IP is the keys' hash tag (`tt_login_fail_ip:{<ip>}`...): one attempt's three
// counters share a slot, as one script touches them.
const RATE_IP = 'tt_login_rate_ip:';
const FAIL_IP = 'tt_login_fail_ip:';
const FAIL_USER_IP = 'tt_login_fail_user_ip:';

// One counter step as rate-limiter-flexible's consume does it: the window
// starts at the first count, and a count past the limit still counts.
// Returns false when granted, the counter's remaining ms when refused.
const CONSUME = `
local function consume(key, limit, windowSec)
  redis.call('set', key, 0, 'EX', windowSec, 'NX')
  local n = redis.call('incrby', key, 1)
  local ttl = redis.call('pttl', key)
  if ttl == -1 then
    redis.call('expire', key, windowSec)
    ttl = 1000 * windowSec
  end
  if n > limit then return ttl end
  return false
end
`;

/**
 * KEYS: rate(IP), failures(IP), failures(name, IP). ARGV: hasIp, hasName,
 * ipRateLimit, ipRateWindowSec, ipFailLimit, failLimit, failWindowSec.
 * Returns {0, 0} when allowed, else {1 rate | 2 IP locked | 3 (name, IP) locked, ms left}.
 * The checks run in this order and stop at the first refusal, so a refused
 * attempt is not counted by the counters after it.
 */
const ATTEMPT_LUA = `${CONSUME}
if ARGV[1] == '1' then
  local t = consume(KEYS[1], tonumber(ARGV[3]), ARGV[4])
  if t then return {1, t} end
  t = consume(KEYS[2], tonumber(ARGV[5]), ARGV[7])
  if t then return {2, t} end
end
if ARGV[2] == '1' then
  local t = consume(KEYS[3], tonumber(ARGV[6]), ARGV[7])
  if t then return {3, t} end
end
return {0, 0}
`;

/**
 * KEYS: failures(name, IP), failures(IP). ARGV: hasIp, failWindowSec.
 * Clears the (name, IP) count and gives the IP its failure point back (a
 * decrement inside the IP's current window, as rate-limiter-flexible's reward).
 */
const SUCCEEDED_LUA = `
redis.call('del', KEYS[1])
if ARGV[1] == '1' then
  redis.call('set', KEYS[2], 0, 'EX', ARGV[2], 'NX')
  redis.call('incrby', KEYS[2], -1)
  if redis.call('pttl', KEYS[2]) == -1 then redis.call('expire', KEYS[2], ARGV[2]) end
end
return 0
`;

const REASONS: Record<number, LoginLimitReason> = { 1: 'login_rate_ip', 2: 'login_locked_ip', 3: 'login_locked_user_ip' };

/** The two scripts as ioredis commands (EVALSHA, loaded on first use). */
interface LimitCommands {
  ttLoginAttempt(rateKey: string, ipKey: string, userIpKey: string, ...args: Array<string | number>): Promise<[number, number]>;
  ttLoginSucceeded(userIpKey: string, ipKey: string, hasIp: string, windowSec: number): Promise<number>;
}

/**
 * Login lockout and rate limits in Redis, shared by every db-proxy instance.
 * Each attempt is counted BEFORE its password is checked, by one Lua script
 * that increments and compares the IP's rate, the IP's failures and the
 * (name, IP) failures atomically: of N parallel guesses only the limit's
 * worth reach the check. A right password then takes its attempt back
 * (`succeeded`), in a second script. So a login costs two Redis round trips.
 *
 * Failures are counted per (name, client IP) and per IP, never per name
 * alone: a stranger guessing from other addresses does not lock the real user
 * out. The cost is that guessing one account from many addresses is bounded
 * only by each address's limits (and argon2id's cost per guess).
 */
export class LoginLimits {
  private readonly redis: RedisClient & LimitCommands;

  constructor(
    redis: RedisClient,
    private readonly opts: LoginLimitOptions,
  ) {
    // Several LoginLimits may share one client (tests, two handlers): define once.
    if (!('ttLoginAttempt' in redis)) {
      redis.defineCommand('ttLoginAttempt', { numberOfKeys: 3, lua: ATTEMPT_LUA });
      redis.defineCommand('ttLoginSucceeded', { numberOfKeys: 2, lua: SUCCEEDED_LUA });
    }
    this.redis = redis as RedisClient & LimitCommands;
  }

  /**
   * Counts one attempt and says whether it may go on to the password check.
   * `name` undefined: a name no account can have, counted per IP only.
   * `ip` undefined: a caller that sent no address; counted per name only.
   * Redis down or errors propagate (fail closed).
   */
  async attempt(name: string | undefined, ip: string | undefined): Promise<LoginGate> {
    if (ip === undefined && name === undefined) return { allowed: true };
    this.assertReady();
    const o = this.opts;
    const keys = this.keysOf(name, ip);
    const [code, ms] = await this.redis.ttLoginAttempt(
      keys.rate,
      keys.ipFailures,
      keys.userIpFailures,
      ip === undefined ? '0' : '1',
      name === undefined ? '0' : '1',
      o.ipRateLimit,
      o.ipRateWindowSec,
      o.ipFailLimit,
      o.failLimit,
      o.failWindowSec,
    );
    const reason = REASONS[code];
    if (reason === undefined) return { allowed: true };
    return { allowed: false, reason, retryAfterSec: Math.max(1, Math.ceil(ms / 1000)) };
  }

  /** A right password: the (name, IP) failures are forgiven and the IP gets its attempt back. */
  async succeeded(name: string, ip: string | undefined): Promise<void> {
    this.assertReady();
    const keys = this.keysOf(name, ip);
    await this.redis.ttLoginSucceeded(keys.userIpFailures, keys.ipFailures, ip === undefined ? '0' : '1', this.opts.failWindowSec);
  }

  /**
   * The counters of an attempt. A counter the attempt does not have (no IP,
   * no name) is never touched by the scripts; it is passed as another key of
   * the same slot, which a cluster requires of every key of a script.
   */
  private keysOf(name: string | undefined, ip: string | undefined): { rate: string; ipFailures: string; userIpFailures: string } {
    // On one server slotTag() is the bare IP and the (name, IP) key keeps its old form.
    const ipPart = ip === undefined ? undefined : slotTag(this.redis, ip);
    const userTag = ip !== undefined && this.redis instanceof Cluster ? ipPart : '';
    const userIpFailures = name === undefined ? undefined : FAIL_USER_IP + userTag + userIpKey(name, ip);
    if (ipPart === undefined) return { rate: userIpFailures ?? '', ipFailures: userIpFailures ?? '', userIpFailures: userIpFailures ?? '' };
    const ipFailures = FAIL_IP + ipPart;
    return { rate: RATE_IP + ipPart, ipFailures, userIpFailures: userIpFailures ?? ipFailures };
  }

  /** A disconnected Redis refuses at once rather than queueing logins behind a reconnect. */
  private assertReady(): void {
    if (this.redis.status !== 'ready') throw new Error('login limits: Redis connection is not ready');
  }
}

function userIpKey(name: string, ip: string | undefined): string {
  // The name is at most 32 characters here; JSON keeps "a|b" + "c" apart from "a" + "b|c".
  return JSON.stringify([ip ?? '', name]);
}
