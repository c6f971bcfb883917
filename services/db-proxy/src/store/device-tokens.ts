import type { RedisClient } from '@tiertalk/redis';
import { Cluster } from 'ioredis';
import { IM } from '@tiertalk/proto';

const { ClientType } = IM.BaseDefine;

// Key names exactly as TeamTalk's db-proxy spells them (docs/STORAGE.md §2, token
// instance): device_<userId> → "ios:<token>" | "android:<token>" | "<token>",
// and the reverse map device_<token> → "<userId>".
// On a Redis Cluster every device key carries one hash tag, `{device}_<uid>`
// and `{device}_<token>`: the register script below reaches keys it can only
// name once it has read others, which a cluster allows within one slot only.
const KEY_PREFIX = 'device_';
const CLUSTER_KEY_PREFIX = '{device}_';
export const devicePrefixOf = (redis: RedisClient): string => (redis instanceof Cluster ? CLUSTER_KEY_PREFIX : KEY_PREFIX);
export const deviceKeys = {
  ofUser: (userId: number, prefix = KEY_PREFIX) => `${prefix}${userId}`,
  ofToken: (token: string, prefix = KEY_PREFIX) => `${prefix}${token}`,
} as const;

const IOS_PREFIX = 'ios:';
const ANDROID_PREFIX = 'android:';

/** MGET at most this many keys per round trip. */
const MGET_CHUNK = 1000;

export interface StoredDeviceToken {
  userId: number;
  clientType: IM.BaseDefine.ClientType;
  token: string;
}

/** The value TeamTalk stores under device_<uid> for a client type. */
export function deviceValue(clientType: number, token: string): string {
  if (clientType === ClientType.CLIENT_TYPE_IOS) return IOS_PREFIX + token;
  if (clientType === ClientType.CLIENT_TYPE_ANDROID) return ANDROID_PREFIX + token;
  return token;
}

/**
 * A device_<uid> value → client type and token; undefined for values that
 * cannot be pushed to (bare tokens of other client types, empty tokens), which
 * TeamTalk's getDevicesToken skips as well.
 */
export function parseDeviceValue(value: string): { clientType: IM.BaseDefine.ClientType; token: string } | undefined {
  let clientType: IM.BaseDefine.ClientType;
  let token: string;
  if (value.startsWith(IOS_PREFIX)) {
    clientType = ClientType.CLIENT_TYPE_IOS;
    token = value.slice(IOS_PREFIX.length);
  } else if (value.startsWith(ANDROID_PREFIX)) {
    clientType = ClientType.CLIENT_TYPE_ANDROID;
    token = value.slice(ANDROID_PREFIX.length);
  } else {
    return undefined;
  }
  return token === '' ? undefined : { clientType, token };
}

// Atomic register / clear (docs/FLOWS.md §11). Beyond TeamTalk, which only
// blanked the reverse key of the user's previous token (even when that token
// had meanwhile moved to another account), this:
//  - clears device_<oldToken> only while it still names this user;
//  - when the token now moves from another account on the same device, clears
//    that account's device_<uid> if it still holds the token, so it no longer
//    gets this device's pushes.
// The reverse keys are derived from stored values, so they cannot be declared
// up front: on a cluster they all share the {device} slot (above).
// KEYS[1] device_<uid>; ARGV[1] uid, ARGV[2] stored value, ARGV[3] token ('' clears), ARGV[4] key prefix.
const REGISTER_SCRIPT = `
local function tokenOf(v)
  local p = string.find(v, ':', 1, true)
  if p then return string.sub(v, p + 1) end
  return v
end
local uid, value, token, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local old = redis.call('GET', KEYS[1])
if old and old ~= '' then
  local oldToken = tokenOf(old)
  if oldToken ~= '' and oldToken ~= token and redis.call('GET', prefix .. oldToken) == uid then
    redis.call('DEL', prefix .. oldToken)
  end
end
if token == '' then
  redis.call('DEL', KEYS[1])
  return 0
end
local owner = redis.call('GET', prefix .. token)
if owner and owner ~= '' and owner ~= uid then
  local ownerValue = redis.call('GET', prefix .. owner)
  if ownerValue and tokenOf(ownerValue) == token then redis.call('DEL', prefix .. owner) end
end
redis.call('SET', KEYS[1], value)
redis.call('SET', prefix .. token, uid)
return 1
`;

/** Device tokens in the token Redis instance (docs/STORAGE.md §2). */
export class DeviceTokenStore {
  private readonly prefix: string;

  constructor(private readonly redis: RedisClient) {
    this.prefix = devicePrefixOf(redis);
  }

  /** Stores the user's token (an empty token clears it, docs/FLOWS.md §12 logout). */
  async register(userId: number, clientType: number, token: string): Promise<void> {
    await this.redis.eval(REGISTER_SCRIPT, 1, deviceKeys.ofUser(userId, this.prefix), String(userId), deviceValue(clientType, token), token, this.prefix);
  }

  /** The pushable tokens of these users (MGET, in chunks), in request order; users without one are absent. */
  async tokensOf(userIds: readonly number[]): Promise<StoredDeviceToken[]> {
    const found: StoredDeviceToken[] = [];
    for (let i = 0; i < userIds.length; i += MGET_CHUNK) {
      const chunk = userIds.slice(i, i + MGET_CHUNK);
      const values = await this.redis.mget(chunk.map((id) => deviceKeys.ofUser(id, this.prefix)));
      chunk.forEach((userId, j) => {
        const value = values[j];
        const parsed = value === null || value === undefined ? undefined : parseDeviceValue(value);
        if (parsed) found.push({ userId, ...parsed });
      });
    }
    return found;
  }
}
