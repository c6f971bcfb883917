import type * as grpc from '@grpc/grpc-js';
import { IM, isMobileClient, type UsersStatReq, type UsersStatRsp } from '@tiertalk/proto';
import { CatalogueError } from '@tiertalk/rpc';
import { routeUnary } from '../call-errors';
import type { RouteDeps } from '../types';

const { USER_STATUS_ONLINE, USER_STATUS_OFFLINE } = IM.BaseDefine.UserStatType;

/**
 * Ids per query. TeamTalk's clients ask for the whole company directory in one
 * request, so the bound is generous; it keeps one request from turning into an
 * unbounded registry pipeline. The gateway refuses larger lists before asking.
 */
export const MAX_USERS_STAT_IDS = 10_000;

/**
 * docs/FLOWS.md §5: ONLINE iff the user has at least one PC session; mobile-only
 * users read OFFLINE. One UserStat per requested id, in request order.
 */
export function usersStatHandler({ store, logger, registryReady }: RouteDeps): grpc.handleUnaryCall<UsersStatReq, UsersStatRsp> {
  const log = logger.child({ rpc: 'UsersStat' });
  const context = (req: UsersStatReq) => ({ userId: req.userId, count: req.userIdList?.length ?? 0 });
  return routeUnary(log, 'UsersStat', 'users stat failed', context, async (req) => {
    const ids = req.userIdList ?? [];
    if (ids.length > MAX_USERS_STAT_IDS) throw new CatalogueError('request_invalid', `at most ${MAX_USERS_STAT_IDS} user ids per query`);
    // While the registry is rebuilt, wait rather than answer "offline" for users who are online.
    await registryReady?.whenRegistryReady();
    const sessions = await store.lookup([...new Set(ids)]);
    const userStatList = ids.map((userId) => ({
      userId,
      status: (sessions.get(userId) ?? []).some((s) => !isMobileClient(s.clientType)) ? USER_STATUS_ONLINE : USER_STATUS_OFFLINE,
    }));
    const rsp = IM.Buddy.IMUsersStatRsp.create({ userId: req.userId, userStatList });
    // The gateway relays the answer to the origin connection by attach_data (docs/FLOWS.md §0, "relay to origin").
    if (req.attachData && req.attachData.length > 0) rsp.attachData = req.attachData;
    return rsp;
  });
}
