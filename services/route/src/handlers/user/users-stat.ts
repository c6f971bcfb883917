import { status } from '@grpc/grpc-js';
import type * as grpc from '@grpc/grpc-js';
import { IM, isMobileClient, type UsersStatReq, type UsersStatRsp } from '@tiertalk/proto';
import { rpcError } from '@tiertalk/rpc';
import { toServiceError } from '../call-errors';
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
  return (call, callback) => {
    const req = call.request;
    const ids = req.userIdList ?? [];
    if (ids.length > MAX_USERS_STAT_IDS) {
      log.warn({ userId: req.userId, count: ids.length, max: MAX_USERS_STAT_IDS }, 'users stat list too long; refused');
      callback(rpcError(status.INVALID_ARGUMENT, `at most ${MAX_USERS_STAT_IDS} user ids per query`));
      return;
    }
    // While the registry is rebuilt, wait rather than answer "offline" for users who are online.
    Promise.resolve(registryReady?.whenRegistryReady())
      .then(() => store.lookup([...new Set(ids)]))
      .then(
        (sessions) => {
          const userStatList = ids.map((userId) => ({
            userId,
            status: (sessions.get(userId) ?? []).some((s) => !isMobileClient(s.clientType)) ? USER_STATUS_ONLINE : USER_STATUS_OFFLINE,
          }));
          const rsp = IM.Buddy.IMUsersStatRsp.create({ userId: req.userId, userStatList });
          // The gateway relays the answer to the origin connection by attach_data (docs/FLOWS.md §0, "relay to origin").
          if (req.attachData && req.attachData.length > 0) rsp.attachData = req.attachData;
          callback(null, rsp);
        },
        (err: unknown) => {
          log.warn({ err, userId: req.userId, count: ids.length }, 'users stat failed');
          callback(toServiceError(err));
        },
      );
  };
}
