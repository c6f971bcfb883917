import type { IM } from '@tiertalk/proto';
import { deviceTokensOf } from '@tiertalk/message-store';
import type { InstancePool } from '@tiertalk/rpc';
import type { TokenSource } from './offline-push';

/** Device tokens from db-proxy's GetDeviceToken, with failover. */
export class DbProxyTokenSource implements TokenSource {
  constructor(
    private readonly pool: InstancePool,
    private readonly deadlineMs: number,
  ) {}

  tokensOf(userIds: readonly number[]): Promise<IM.BaseDefine.UserTokenInfo.$Properties[]> {
    return deviceTokensOf(this.pool, userIds, this.deadlineMs);
  }
}
