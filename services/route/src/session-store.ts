import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

// Session registry (docs/ARCHITECTURE.md, "Session registry"), after
// ejabberd's Redis session manager: a hash per user, an index per gateway,
// and one script that drops a dead gateway's sessions.
//   <p>user:<userId>  hash  "<gatewayId>/<connId>" -> client type
//   <p>gw:<gatewayId> set   "<userId>/<connId>"
//   <p>gateways       set   gateway ids holding sessions
// Every multi-key write is a Lua script, so a crash never leaves a session in
// one index only.

/** One client connection of a user, as stored. */
export interface Session {
  gatewayId: string;
  connId: number;
  clientType: number;
}

export interface SessionKey {
  gatewayId: string;
  connId: number;
  userId: number;
}

// Returns the user's sessions as they were before this one was added, so the
// caller can kick same-class ones without a second round trip.
const LOGIN_LUA = `
local before = redis.call('HGETALL', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
return before
`;

// Returns [removed client type or false, the user's remaining sessions], so
// presence (flows.md §5) knows whether this was the user's last PC session
// without a second round trip; atomic, so of two concurrent logouts exactly
// one sees "no PC left".
const LOGOUT_LUA = `
local removedType = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
if redis.call('SCARD', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[3])
end
return {removedType, redis.call('HGETALL', KEYS[1])}
`;

// User keys are derived from the gateway index (ejabberd's purge does the
// same); fine on a single Redis, which is what the registry runs on.
// Idempotent: a second run finds an empty index and removes nothing.
const PURGE_LUA = `
local members = redis.call('SMEMBERS', KEYS[1])
local removed = 0
for _, m in ipairs(members) do
  local slash = string.find(m, '/', 1, true)
  if slash then
    local userId = string.sub(m, 1, slash - 1)
    local connId = string.sub(m, slash + 1)
    removed = removed + redis.call('HDEL', ARGV[2] .. userId, ARGV[1] .. '/' .. connId)
  end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return removed
`;

class LuaScript {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** EVALSHA, loading the script once when Redis does not know it (after a restart or FLUSH). */
  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      // NOSCRIPT is the Redis error code (first word of the reply), not free text.
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const loginScript = new LuaScript(LOGIN_LUA);
const logoutScript = new LuaScript(LOGOUT_LUA);
const purgeScript = new LuaScript(PURGE_LUA);

export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  userKey(userId: number): string {
    return `${this.prefix}user:${userId}`;
  }

  gatewayKey(gatewayId: string): string {
    return `${this.prefix}gw:${gatewayId}`;
  }

  gatewaysKey(): string {
    return `${this.prefix}gateways`;
  }

  /** Registers the session; returns the user's sessions that existed before (this one excluded). */
  async login(ref: SessionKey & { clientType: number }): Promise<Session[]> {
    const field = `${ref.gatewayId}/${ref.connId}`;
    const reply = await loginScript.run(
      this.redis,
      [this.userKey(ref.userId), this.gatewayKey(ref.gatewayId), this.gatewaysKey()],
      [field, ref.clientType, `${ref.userId}/${ref.connId}`, ref.gatewayId],
    );
    return parseFlatHash(reply).filter((s) => !(s.gatewayId === ref.gatewayId && s.connId === ref.connId));
  }

  /** Removes exactly this session; true when it existed. Idempotent. */
  async logout(ref: SessionKey): Promise<boolean> {
    return (await this.leave(ref)).removed !== undefined;
  }

  /**
   * Removes exactly this session and returns what presence needs: the removed
   * session's stored client type (undefined when it did not exist) and the
   * user's sessions that remain. Idempotent.
   */
  async leave(ref: SessionKey): Promise<{ removed: number | undefined; remaining: Session[] }> {
    const reply = await logoutScript.run(
      this.redis,
      [this.userKey(ref.userId), this.gatewayKey(ref.gatewayId), this.gatewaysKey()],
      [`${ref.gatewayId}/${ref.connId}`, `${ref.userId}/${ref.connId}`, ref.gatewayId],
    );
    if (!Array.isArray(reply)) throw new Error('session logout: unexpected script reply');
    // A Lua false (HGET of a missing field) arrives as null.
    const removedType: unknown = reply[0];
    const removed = typeof removedType === 'string' && Number.isInteger(Number(removedType)) ? Number(removedType) : undefined;
    return { removed, remaining: parseFlatHash(reply[1]) };
  }

  /** Sessions of each user (users without any map to []), in one pipeline. */
  async lookup(userIds: readonly number[]): Promise<Map<number, Session[]>> {
    const out = new Map<number, Session[]>();
    if (userIds.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const id of userIds) pipeline.hgetall(this.userKey(id));
    const replies = await pipeline.exec();
    if (replies === null) throw new Error('session lookup: pipeline aborted');
    userIds.forEach((id, i) => {
      const [err, value] = replies[i] ?? [new Error('missing reply'), null];
      if (err) throw err;
      out.set(id, parseHashObject(value));
    });
    return out;
  }

  /** Removes every session of the gateway; returns how many were removed. Safe to run concurrently and repeatedly. */
  async purgeGateway(gatewayId: string): Promise<number> {
    const reply = await purgeScript.run(this.redis, [this.gatewayKey(gatewayId), this.gatewaysKey()], [gatewayId, `${this.prefix}user:`]);
    return typeof reply === 'number' ? reply : 0;
  }

  /** Gateway ids that hold sessions. */
  async gatewayIds(): Promise<string[]> {
    return this.redis.smembers(this.gatewaysKey());
  }
}

function parseField(field: string, value: string): Session | undefined {
  const slash = field.lastIndexOf('/');
  if (slash <= 0) return undefined;
  const connId = Number(field.slice(slash + 1));
  const clientType = Number(value);
  if (!Number.isInteger(connId) || connId < 0 || !Number.isInteger(clientType)) return undefined;
  return { gatewayId: field.slice(0, slash), connId, clientType };
}

/** HGETALL as returned by EVAL: [field, value, field, value, ...]. */
function parseFlatHash(reply: unknown): Session[] {
  if (!Array.isArray(reply)) return [];
  const out: Session[] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const field: unknown = reply[i];
    const value: unknown = reply[i + 1];
    if (typeof field !== 'string' || typeof value !== 'string') continue;
    const s = parseField(field, value);
    if (s) out.push(s);
  }
  return out;
}

/** HGETALL as returned by ioredis: { field: value }. */
function parseHashObject(reply: unknown): Session[] {
  if (typeof reply !== 'object' || reply === null) return [];
  const out: Session[] = [];
  for (const [field, value] of Object.entries(reply)) {
    if (typeof value !== 'string') continue;
    const s = parseField(field, value);
    if (s) out.push(s);
  }
  return out;
}
