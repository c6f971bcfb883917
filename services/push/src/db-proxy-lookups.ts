import { DbProxyService, IM } from '@tiertalk/proto';
import { deviceTokensOf } from '@tiertalk/message-store';
import { callWithFailover, type InstancePool } from '@tiertalk/rpc';

/** What the push service asks db-proxy (docs/FLOWS.md §4 step 4.6, §10 step 5, §11). */
export interface PushLookups {
  /** Pushable tokens with each user's badge (GetDeviceToken: MGET device_<uid>, unread totals). */
  tokensOf(userIds: readonly number[]): Promise<IM.BaseDefine.UserTokenInfo.$Properties[]>;
  /** Users of `userIds` whose mobile push shield (IMUser.push_shield_status) is on. */
  pushShielded(userIds: readonly number[]): Promise<Set<number>>;
  /** Members of `userIds` who muted the group (group_set_<gid> field <uid>_1). */
  groupShielded(groupId: number, userIds: readonly number[]): Promise<Set<number>>;
  /** Clears a user's token (an empty IMDeviceTokenReq), as a client does on logout. */
  clearToken(userId: number, clientType: number): Promise<void>;
}

const SHIELD_OFF = 0;
const SHIELD_QUERIES_AT_ONCE = 32;
const RESULT_OK = 0;

/** The lookups over db-proxy's unary RPCs, each with failover across instances. */
export class DbProxyLookups implements PushLookups {
  constructor(
    private readonly pool: InstancePool,
    private readonly deadlineMs: number,
  ) {}

  tokensOf(userIds: readonly number[]): Promise<IM.BaseDefine.UserTokenInfo.$Properties[]> {
    return deviceTokensOf(this.pool, userIds, this.deadlineMs);
  }

  async pushShielded(userIds: readonly number[]): Promise<Set<number>> {
    // One small query per user that has a token (only those reach here); db-proxy has no batch form
    // of 0x010e. A few at a time, so a large group's offline members do not flood db-proxy.
    const shielded = new Set<number>();
    for (let i = 0; i < userIds.length; i += SHIELD_QUERIES_AT_ONCE) {
      const answers = await Promise.all(
        userIds
          .slice(i, i + SHIELD_QUERIES_AT_ONCE)
          .map((userId) => callWithFailover(this.pool, DbProxyService.QueryPushShield, IM.Login.IMQueryPushShieldReq.create({ userId }), { deadlineMs: this.deadlineMs })),
      );
      for (const rsp of answers) if (rsp.resultCode === RESULT_OK && (rsp.shieldStatus ?? SHIELD_OFF) !== SHIELD_OFF) shielded.add(rsp.userId);
    }
    return shielded;
  }

  async groupShielded(groupId: number, userIds: readonly number[]): Promise<Set<number>> {
    const req = IM.Server.IMGroupGetShieldReq.create({ groupId, userId: [...userIds] });
    const rsp = await callWithFailover(this.pool, DbProxyService.GroupGetShield, req, { deadlineMs: this.deadlineMs });
    return new Set(rsp.shieldStatusList.filter((s) => s.shieldStatus !== SHIELD_OFF).map((s) => s.userId));
  }

  async clearToken(userId: number, clientType: number): Promise<void> {
    const req = IM.Login.IMDeviceTokenReq.create({ userId, deviceToken: '', clientType });
    await callWithFailover(this.pool, DbProxyService.DeviceToken, req, { deadlineMs: this.deadlineMs });
  }
}
