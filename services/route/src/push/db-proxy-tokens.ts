import { DbProxyService, IM } from '@tiertalk/proto';
import { callWithFailover } from '@tiertalk/rpc';
import type { InstancePool } from '@tiertalk/rpc';
import type { TokenSource } from './offline-push';

/** Users per GetDeviceToken call (db-proxy answers at most 5000). */
const USERS_PER_CALL = 500;

/** Device tokens from db-proxy's GetDeviceToken (docs/FLOWS.md §4 step 4.6: MGET device_<uid>), with failover. */
export class DbProxyTokenSource implements TokenSource {
  constructor(
    private readonly pool: InstancePool,
    private readonly deadlineMs: number,
  ) {}

  async tokensOf(userIds: readonly number[]): Promise<IM.BaseDefine.UserTokenInfo.$Properties[]> {
    const found: IM.BaseDefine.UserTokenInfo.$Properties[] = [];
    for (let i = 0; i < userIds.length; i += USERS_PER_CALL) {
      const req = IM.Server.IMGetDeviceTokenReq.create({ userId: userIds.slice(i, i + USERS_PER_CALL) });
      const rsp = await callWithFailover(this.pool, DbProxyService.GetDeviceToken, req, { deadlineMs: this.deadlineMs });
      found.push(...rsp.userTokenInfo);
    }
    return found;
  }
}
