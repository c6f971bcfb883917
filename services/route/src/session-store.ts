import { createHash, randomBytes } from 'node:crypto';
import { slotTag, type RedisClient } from '@tiertalk/redis';

// Session registry (docs/ARCHITECTURE.md, "Session registry"), after
// ejabberd's Redis session manager: a hash per user, an index per gateway,
// scripts that drop a dead gateway's sessions and that make a gateway's
// sessions equal to the list it sends (Route.SyncSessions), chunk by chunk.
//   <p>user:<userId>  hash  "<gatewayId>/<connId>" -> client type
//   <p>gw:<gatewayId> set   "<userId>/<connId>"
//   <p>gateways       set   gateway ids holding sessions
//   <p>gwseen:<gw>    string, expiring: the gateway proved alive (login, sync)
//   <p>gwfresh:<gw>   zset "<userId>/<connId>" -> login time (Redis ms), recent logins only
//   <p>epoch          string: the registry's incarnation (registry-epoch.ts)
//   <p>synced:<epoch> set   gateways that synced in that epoch
//   <p>synccand:<gw>:<token> set, one sync's removal candidates (deleted when it ends)
// Every multi-key write is a Lua script, so a crash never leaves a session in
// one index only. The scripts reach users' keys they learn while running (a
// gateway's members), so on a Redis Cluster the whole registry is one slot:
// <p> becomes the hash tag `{<p>}` (TT_SESSION_KEY_PREFIX inside braces).

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

// Redis time in ms as an integer string: one clock for every route instance.
const NOW_MS_LUA = `
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// Returns the user's sessions as they were before this one was added, so the
// caller can kick same-class ones without a second round trip. Also marks the
// gateway seen (a live gateway is logging users in) and the session fresh, so
// a sync computed just before this login does not remove it.
const LOGIN_LUA = `${NOW_MS_LUA}
local before = redis.call('HGETALL', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('SET', KEYS[4], '1', 'PX', ARGV[5])
local grace = tonumber(ARGV[6])
redis.call('ZADD', KEYS[5], string.format('%d', nowMs), ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', string.format('(%d', nowMs - grace))
redis.call('PEXPIRE', KEYS[5], grace * 2)
return before
`;

// Returns [removed client type or false, the user's remaining sessions], so
// presence (docs/FLOWS.md §5) knows whether this was the user's last PC session
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

// Shared by the purge and the sync's removal: removes the listed index members
// ("<userId>/<connId>") of gateway ARGV[1] and returns, per user that lost a
// session, {userId, {removed client types}, remaining HGETALL}. Only the
// script that actually removed a session reports it, so of several route
// instances purging one gateway exactly one announces each departure.
const REMOVE_MEMBERS_LUA = `
local function removeMembers(members, gatewayId, userPrefix, gwKey)
  local byUser = {}
  local order = {}
  for _, m in ipairs(members) do
    local slash = string.find(m, '/', 1, true)
    if slash then
      local userId = string.sub(m, 1, slash - 1)
      local field = gatewayId .. '/' .. string.sub(m, slash + 1)
      local userKey = userPrefix .. userId
      local removedType = redis.call('HGET', userKey, field)
      redis.call('SREM', gwKey, m)
      if removedType then
        redis.call('HDEL', userKey, field)
        if not byUser[userId] then
          byUser[userId] = {}
          table.insert(order, userId)
        end
        table.insert(byUser[userId], removedType)
      end
    end
  end
  local out = {}
  for _, userId in ipairs(order) do
    table.insert(out, {userId, byUser[userId], redis.call('HGETALL', userPrefix .. userId)})
  end
  return out
end
`;

// Removes up to ARGV[3] sessions of a dead gateway (SPOP: concurrent purges
// never both take one member). Returns {members taken, departures}; the caller
// repeats while a full chunk was taken. Idempotent.
const PURGE_CHUNK_LUA = `${REMOVE_MEMBERS_LUA}
local members = redis.call('SPOP', KEYS[1], tonumber(ARGV[3]))
local departures = removeMembers(members, ARGV[1], ARGV[2], KEYS[1])
if redis.call('SCARD', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[1])
end
return {#members, departures}
`;

// Sync, step 1: the removal candidates are the sessions registered when the
// sync starts (logins arriving later are never removed by it). Returns whether
// this gateway already synced in the registry's current epoch: the first sync
// after a registry loss rebuilds quietly, later ones announce presence.
const SYNC_START_LUA = `
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('SUNIONSTORE', KEYS[2], KEYS[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[3])
local epoch = redis.call('GET', KEYS[3])
if not epoch then return 0 end
return redis.call('SISMEMBER', ARGV[1] .. epoch, ARGV[4])
`;

// Sync, step 2 (per chunk): adds the listed sessions (ARGV[4..] as triplets
// userId, connId, clientType) and strikes them from the candidates. Returns
// {added, {userId, connId, clientType, sessions before} per added session when
// ARGV[3] == '1'}.
const SYNC_ADD_LUA = `
local gatewayId = ARGV[1]
local userPrefix = ARGV[2]
local announce = ARGV[3] == '1'
local added = 0
local fresh = {}
for i = 4, #ARGV, 3 do
  local userId = ARGV[i]
  local member = userId .. '/' .. ARGV[i + 1]
  local field = gatewayId .. '/' .. ARGV[i + 1]
  local userKey = userPrefix .. userId
  local current = redis.call('HGET', userKey, field)
  if current ~= ARGV[i + 2] then
    if not current then
      added = added + 1
      if announce then table.insert(fresh, {userId, ARGV[i + 1], ARGV[i + 2], redis.call('HGETALL', userKey)}) end
    end
    redis.call('HSET', userKey, field, ARGV[i + 2])
  end
  redis.call('SADD', KEYS[1], member)
  redis.call('SREM', KEYS[2], member)
end
if redis.call('SCARD', KEYS[1]) > 0 then redis.call('SADD', KEYS[3], gatewayId) end
return {added, fresh}
`;

// Sync, step 3 (per chunk): removes up to ARGV[4] remaining candidates the
// gateway did not list, except sessions that logged in within the grace
// (their login may have raced the gateway's snapshot). Returns {candidates
// taken, departures}.
const SYNC_REMOVE_LUA = `${REMOVE_MEMBERS_LUA}${NOW_MS_LUA}
local taken = redis.call('SPOP', KEYS[2], tonumber(ARGV[4]))
local stale = {}
local since = nowMs - tonumber(ARGV[3])
for _, m in ipairs(taken) do
  local loggedInAt = redis.call('ZSCORE', KEYS[3], m)
  if (not loggedInAt or tonumber(loggedInAt) < since) and redis.call('SISMEMBER', KEYS[1], m) == 1 then
    table.insert(stale, m)
  end
end
return {#taken, removeMembers(stale, ARGV[1], ARGV[2], KEYS[1])}
`;

// Sync, step 4: the gateway is in (or out of) the gateways set by what it
// holds, seen now, and synced in the current epoch.
const SYNC_FINISH_LUA = `
redis.call('DEL', KEYS[2])
if redis.call('SCARD', KEYS[1]) > 0 then
  redis.call('SADD', KEYS[3], ARGV[1])
else
  redis.call('SREM', KEYS[3], ARGV[1])
end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[3])
local epoch = redis.call('GET', KEYS[5])
if epoch then
  redis.call('SADD', ARGV[2] .. epoch, ARGV[1])
  redis.call('PEXPIRE', ARGV[2] .. epoch, ARGV[3])
end
return 1
`;

class LuaScript {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** EVALSHA, loading the script once when Redis does not know it (after a restart or FLUSH). */
  async run(redis: RedisClient, keys: string[], args: (string | number)[]): Promise<unknown> {
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
const purgeChunkScript = new LuaScript(PURGE_CHUNK_LUA);
const syncStartScript = new LuaScript(SYNC_START_LUA);
const syncAddScript = new LuaScript(SYNC_ADD_LUA);
const syncRemoveScript = new LuaScript(SYNC_REMOVE_LUA);
const syncFinishScript = new LuaScript(SYNC_FINISH_LUA);

/** A user who lost sessions in one removal: what presence needs (./handlers/session/presence.ts). */
export interface Departure {
  userId: number;
  /** Stored client types of the sessions removed. */
  removedTypes: number[];
  /** The user's sessions left afterwards. */
  remaining: Session[];
}

/** A session a sync added that was not registered. */
export interface Arrival {
  userId: number;
  connId: number;
  clientType: number;
  /** The user's sessions before it was added. */
  before: Session[];
}

export interface SyncResult {
  added: number;
  removed: number;
  /** True for the gateway's first sync in the registry's current epoch (a rebuild: no presence). */
  rebuild: boolean;
  /** Filled only when not a rebuild. */
  arrivals: Arrival[];
  departures: Departure[];
}

export interface SessionStoreOptions {
  /** Lifetime of a gateway's seen mark (`gwseen`): 3 sync intervals. */
  seenTtlMs?: number;
  /** Sessions per Lua call of a sync or purge, so Redis never blocks long. */
  chunkSize?: number;
  /** A sync never removes a session that logged in this recently (its login may have raced the gateway's list). */
  freshGraceMs?: number;
}

const DEFAULT_SEEN_TTL_MS = 90_000;
const DEFAULT_CHUNK_SIZE = 2_000;
const DEFAULT_FRESH_GRACE_MS = 15_000;
// A sync's candidate set outlives no sync (deadline a few seconds).
const CANDIDATES_TTL_MS = 60_000;

/** The registry's epoch is not the one the caller works in: its Redis lost the sessions. */
export class RegistryEpochMismatch extends Error {
  constructor(
    readonly expected: string,
    readonly found: string | null,
  ) {
    super(`session registry epoch is ${found ?? 'missing'}, expected ${expected}`);
    this.name = 'RegistryEpochMismatch';
  }
}

export class SessionStore {
  readonly seenTtlMs: number;
  private readonly chunkSize: number;
  private readonly freshGraceMs: number;

  private readonly prefix: string;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    opts: SessionStoreOptions = {},
  ) {
    this.prefix = slotTag(redis, keyPrefix);
    this.seenTtlMs = opts.seenTtlMs ?? DEFAULT_SEEN_TTL_MS;
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.freshGraceMs = opts.freshGraceMs ?? DEFAULT_FRESH_GRACE_MS;
  }

  userKey(userId: number): string {
    return `${this.prefix}user:${userId}`;
  }

  gatewayKey(gatewayId: string): string {
    return `${this.prefix}gw:${gatewayId}`;
  }

  gatewaysKey(): string {
    return `${this.prefix}gateways`;
  }

  /** The registry's incarnation: set once, gone only when Redis lost its data. */
  epochKey(): string {
    return `${this.prefix}epoch`;
  }

  /** Present while the gateway proved alive within seenTtlMs (login or sync). */
  seenKey(gatewayId: string): string {
    return `${this.prefix}gwseen:${gatewayId}`;
  }

  private freshKey(gatewayId: string): string {
    return `${this.prefix}gwfresh:${gatewayId}`;
  }

  private syncedPrefix(): string {
    return `${this.prefix}synced:`;
  }

  /** Registers the session; returns the user's sessions that existed before (this one excluded). */
  async login(ref: SessionKey & { clientType: number }): Promise<Session[]> {
    const field = `${ref.gatewayId}/${ref.connId}`;
    const reply = await loginScript.run(
      this.redis,
      [this.userKey(ref.userId), this.gatewayKey(ref.gatewayId), this.gatewaysKey(), this.seenKey(ref.gatewayId), this.freshKey(ref.gatewayId)],
      [field, ref.clientType, `${ref.userId}/${ref.connId}`, ref.gatewayId, this.seenTtlMs, this.freshGraceMs],
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

  /**
   * Sessions of each user (users without any map to []), in one pipeline.
   * With `expectEpoch`, the registry's epoch is read in the same pipeline and
   * a different one (Redis flushed or replaced under us) rejects with
   * RegistryEpochMismatch instead of answering from a lost registry.
   */
  async lookup(userIds: readonly number[], expectEpoch?: string): Promise<Map<number, Session[]>> {
    const out = new Map<number, Session[]>();
    if (userIds.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const id of userIds) pipeline.hgetall(this.userKey(id));
    if (expectEpoch !== undefined) pipeline.get(this.epochKey());
    const replies = await pipeline.exec();
    if (replies === null) throw new Error('session lookup: pipeline aborted');
    if (expectEpoch !== undefined) {
      const [err, epoch] = replies[userIds.length] ?? [new Error('missing reply'), null];
      if (err) throw err;
      if (epoch !== expectEpoch) throw new RegistryEpochMismatch(expectEpoch, typeof epoch === 'string' ? epoch : null);
    }
    userIds.forEach((id, i) => {
      const [err, value] = replies[i] ?? [new Error('missing reply'), null];
      if (err) throw err;
      out.set(id, parseHashObject(value));
    });
    return out;
  }

  /**
   * Removes every session of the gateway, a chunk per script; returns how many
   * were removed by this call and the users who lost sessions (this caller
   * announces them). Safe to run concurrently and repeatedly.
   */
  async purgeGateway(gatewayId: string): Promise<{ removed: number; departures: Departure[] }> {
    const departures: Departure[] = [];
    for (;;) {
      const reply = await purgeChunkScript.run(
        this.redis,
        [this.gatewayKey(gatewayId), this.gatewaysKey()],
        [gatewayId, `${this.prefix}user:`, this.chunkSize],
      );
      const [taken, chunk] = parseRemoval(reply, gatewayId);
      departures.push(...chunk);
      if (taken < this.chunkSize) break;
    }
    return { removed: countRemoved(departures), departures };
  }

  /**
   * Makes the gateway's sessions exactly `sessions` (Route.SyncSessions):
   * adds the missing ones, removes registered ones not listed, except those
   * that logged in during the last freshGraceMs. Each chunk is one script;
   * logins racing the sync are never removed by it. Marks the gateway seen
   * and synced in the registry's current epoch.
   */
  async syncGateway(gatewayId: string, sessions: readonly (SessionKey & { clientType: number })[]): Promise<SyncResult> {
    const gwKey = this.gatewayKey(gatewayId);
    const candidates = `${this.prefix}synccand:${gatewayId}:${randomBytes(6).toString('hex')}`;
    const seen = this.seenKey(gatewayId);
    const synced = await syncStartScript.run(
      this.redis,
      [gwKey, candidates, this.epochKey(), seen],
      [this.syncedPrefix(), CANDIDATES_TTL_MS, this.seenTtlMs, gatewayId],
    );
    const rebuild = synced !== 1;
    const result: SyncResult = { added: 0, removed: 0, rebuild, arrivals: [], departures: [] };
    try {
      for (let i = 0; i < sessions.length; i += this.chunkSize) {
        const args: (string | number)[] = [gatewayId, `${this.prefix}user:`, rebuild ? '0' : '1'];
        for (const s of sessions.slice(i, i + this.chunkSize)) args.push(s.userId, s.connId, s.clientType);
        const reply = await syncAddScript.run(this.redis, [gwKey, candidates, this.gatewaysKey()], args);
        const [added, arrivals] = parseArrivals(reply);
        result.added += added;
        result.arrivals.push(...arrivals);
      }
      for (;;) {
        const reply = await syncRemoveScript.run(
          this.redis,
          [gwKey, candidates, this.freshKey(gatewayId)],
          [gatewayId, `${this.prefix}user:`, this.freshGraceMs, this.chunkSize],
        );
        const [taken, departures] = parseRemoval(reply, gatewayId);
        result.departures.push(...departures);
        if (taken < this.chunkSize) break;
      }
    } finally {
      await syncFinishScript.run(
        this.redis,
        [gwKey, candidates, this.gatewaysKey(), seen, this.epochKey()],
        [gatewayId, this.syncedPrefix(), this.seenTtlMs],
      );
    }
    result.removed = countRemoved(result.departures);
    if (rebuild) result.arrivals = [];
    return result;
  }

  /** Gateway ids that hold sessions. */
  async gatewayIds(): Promise<string[]> {
    return this.redis.smembers(this.gatewaysKey());
  }

  /** The ids among `gatewayIds` whose seen mark has expired. */
  async unseenGateways(gatewayIds: readonly string[]): Promise<string[]> {
    if (gatewayIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of gatewayIds) pipeline.exists(this.seenKey(id));
    const replies = await pipeline.exec();
    if (replies === null) throw new Error('seen check: pipeline aborted');
    return gatewayIds.filter((_, i) => {
      const [err, value] = replies[i] ?? [new Error('missing reply'), null];
      if (err) throw err;
      return value === 0;
    });
  }

  /** The registry's current epoch (null when Redis lost it or it was never set). */
  async readEpoch(): Promise<string | null> {
    return this.redis.get(this.epochKey());
  }

  /** Sets the epoch unless one exists; true when this call set it. */
  async claimEpoch(epoch: string): Promise<boolean> {
    return (await this.redis.set(this.epochKey(), epoch, 'NX')) === 'OK';
  }

  /** The ids among `gatewayIds` that synced in `epoch`. */
  async syncedGateways(epoch: string, gatewayIds: readonly string[]): Promise<Set<string>> {
    if (gatewayIds.length === 0) return new Set();
    const flags = await this.redis.smismember(`${this.syncedPrefix()}${epoch}`, ...gatewayIds);
    return new Set(gatewayIds.filter((_, i) => flags[i] === 1));
  }
}

function countRemoved(departures: readonly Departure[]): number {
  return departures.reduce((n, d) => n + d.removedTypes.length, 0);
}

/** {taken, {{userId, {types}, remaining HGETALL}...}} from the purge and removal scripts. */
function parseRemoval(reply: unknown, gatewayId: string): [number, Departure[]] {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || !Array.isArray(reply[1])) {
    throw new Error(`session removal of ${gatewayId}: unexpected script reply`);
  }
  const departures: Departure[] = [];
  for (const entry of reply[1] as unknown[]) {
    if (!Array.isArray(entry)) continue;
    const userId = Number(entry[0]);
    const types: unknown = entry[1];
    if (!Number.isInteger(userId) || !Array.isArray(types)) continue;
    departures.push({
      userId,
      removedTypes: types.map(Number).filter((t) => Number.isInteger(t)),
      remaining: parseFlatHash(entry[2]),
    });
  }
  return [reply[0], departures];
}

/** {added, {{userId, connId, clientType, before HGETALL}...}} from the sync's add script. */
function parseArrivals(reply: unknown): [number, Arrival[]] {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || !Array.isArray(reply[1])) {
    throw new Error('session sync: unexpected script reply');
  }
  const arrivals: Arrival[] = [];
  for (const entry of reply[1] as unknown[]) {
    if (!Array.isArray(entry)) continue;
    const [userId, connId, clientType] = [Number(entry[0]), Number(entry[1]), Number(entry[2])];
    if (!Number.isInteger(userId) || !Number.isInteger(connId) || !Number.isInteger(clientType)) continue;
    arrivals.push({ userId, connId, clientType, before: parseFlatHash(entry[3]) });
  }
  return [reply[0], arrivals];
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
