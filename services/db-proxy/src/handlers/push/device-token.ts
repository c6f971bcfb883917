import type { RedisClient } from '@tiertalk/redis';
import type { Logger } from '@tiertalk/log';
import { IM } from '@tiertalk/proto';
import type { DeviceTokenStore } from '../../store/device-tokens';
import { singleUnreadTotals } from '../../store/push-counts';
import type { UserDirectory } from '../../store/user-directory';
import { RequestError } from '../../unary';

const { ClientType } = IM.BaseDefine;

// APNs tokens are 64 hex digits, FCM tokens a few hundred characters of
// [A-Za-z0-9:_-]. Printable ASCII only: the token becomes part of a Redis key.
const DEVICE_TOKEN = /^[\x21-\x7e]{1,512}$/;
// device_<token> shares its key space with device_<uid>: an all-digit token
// would overwrite another user's token entry (a TeamTalk hole), so none is taken.
const ALL_DIGITS = /^\d+$/;

/** GetDeviceToken answers at most this many users per request (route asks in smaller batches). */
export const GET_DEVICE_TOKEN_MAX_USERS = 5000;

// UserTokenInfo.push_type (docs/PROTOCOL.md §3.1).
const PUSH_TYPE_NORMAL = 1;

/**
 * TeamTalk's getDevicesToken drops iOS tokens of users with do-not-disturb on
 * between 22:00 and 07:59 server local time (`tm_hour >= 22 || tm_hour <= 7`);
 * Android clients filter themselves.
 */
export function inQuietHours(at: Date): boolean {
  const hour = at.getHours();
  return hour >= 22 || hour <= 7;
}

export interface DeviceTokenHandlerOptions {
  /** Server clock; tests pin the hour. */
  now?: () => Date;
}

/** Device tokens (docs/FLOWS.md §11, §12) and the token lookup behind offline push (docs/FLOWS.md §4 step 4.6). */
export class DeviceTokenHandlers {
  private readonly now: () => Date;

  constructor(
    private readonly tokens: DeviceTokenStore,
    private readonly users: UserDirectory,
    private readonly unreadRedis: RedisClient,
    private readonly log: Logger,
    opts: DeviceTokenHandlerOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
  }

  /** 0x0108: store (or, with an empty token, clear) the user's token. The client was answered by the gateway already. */
  async register(req: IM.Login.IMDeviceTokenReq): Promise<IM.Login.IMDeviceTokenRsp> {
    if (req.userId <= 0) throw new RequestError('request_invalid', 'device token without a user');
    const token = req.deviceToken;
    if (token !== '' && (!DEVICE_TOKEN.test(token) || ALL_DIGITS.test(token))) {
      throw new RequestError('request_invalid', `unusable device token (${Buffer.byteLength(token, 'utf8')} bytes)`);
    }
    await this.tokens.register(req.userId, req.clientType, token);
    this.log.info({ userId: req.userId, clientType: req.clientType, cleared: token === '' }, 'device token stored');
    return IM.Login.IMDeviceTokenRsp.create({ userId: req.userId });
  }

  /** 0x0705 → 0x0706: pushable tokens of the users (MGET device_<uid>), with the unread badge. */
  async tokensFor(req: IM.Server.IMGetDeviceTokenReq): Promise<IM.Server.IMGetDeviceTokenRsp> {
    const ids = [...new Set(req.userId.filter((id) => id > 0))];
    if (ids.length > GET_DEVICE_TOKEN_MAX_USERS) {
      throw new RequestError('request_invalid', `device tokens of ${ids.length} users asked, at most ${GET_DEVICE_TOKEN_MAX_USERS}`);
    }
    let found = await this.tokens.tokensOf(ids);
    const iosUsers = found.filter((t) => t.clientType === ClientType.CLIENT_TYPE_IOS).map((t) => t.userId);
    if (iosUsers.length > 0 && inQuietHours(this.now())) {
      const shielded = await this.users.shieldedAmong(iosUsers);
      if (shielded.size > 0) {
        found = found.filter((t) => t.clientType !== ClientType.CLIENT_TYPE_IOS || !shielded.has(t.userId));
        this.log.debug({ users: shielded.size }, 'iOS tokens of do-not-disturb users left out (quiet hours)');
      }
    }
    const badges = await singleUnreadTotals(
      this.unreadRedis,
      found.map((t) => t.userId),
    );
    return IM.Server.IMGetDeviceTokenRsp.create({
      userTokenInfo: found.map((t) => ({
        userId: t.userId,
        userType: t.clientType,
        token: t.token,
        pushCount: badges.get(t.userId) ?? 0,
        pushType: PUSH_TYPE_NORMAL,
      })),
    });
  }
}
