import { DbProxyService, IM } from '@tiertalk/proto';
import { callWithFailover, type InstancePool } from '@tiertalk/rpc';

/** Users per GetDeviceToken call: db-proxy answers at most 5000; smaller calls fail over faster. */
const USERS_PER_CALL = 500;

/**
 * The pushable device tokens of `userIds`, each with the user's badge, from
 * db-proxy's GetDeviceToken (docs/FLOWS.md §4 step 4.6: MGET device_<uid>,
 * unread totals), each call with failover across instances. Offline push
 * asks this, in route and in the push service alike.
 */
export async function deviceTokensOf(pool: InstancePool, userIds: readonly number[], deadlineMs: number): Promise<IM.BaseDefine.UserTokenInfo.$Properties[]> {
  const found: IM.BaseDefine.UserTokenInfo.$Properties[] = [];
  for (let i = 0; i < userIds.length; i += USERS_PER_CALL) {
    const req = IM.Server.IMGetDeviceTokenReq.create({ userId: userIds.slice(i, i + USERS_PER_CALL) });
    const rsp = await callWithFailover(pool, DbProxyService.GetDeviceToken, req, { deadlineMs });
    found.push(...rsp.userTokenInfo);
  }
  return found;
}
