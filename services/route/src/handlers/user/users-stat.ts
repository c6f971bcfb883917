import type * as grpc from '@grpc/grpc-js';
import { IM, isMobileClient, type UsersStatReq, type UsersStatRsp } from '@tiertalk/proto';
import { toServiceError } from '../call-errors';
import type { RouteDeps } from '../types';

const { USER_STATUS_ONLINE, USER_STATUS_OFFLINE } = IM.BaseDefine.UserStatType;

/**
 * flows.md §5: ONLINE iff the user has at least one PC session; mobile-only
 * users read OFFLINE. One UserStat per requested id, in request order.
 */
export function usersStatHandler({ store, logger }: RouteDeps): grpc.handleUnaryCall<UsersStatReq, UsersStatRsp> {
  const log = logger.child({ rpc: 'UsersStat' });
  return (call, callback) => {
    const req = call.request;
    const ids = req.userIdList ?? [];
    store.lookup([...new Set(ids)]).then(
      (sessions) => {
        const userStatList = ids.map((userId) => ({
          userId,
          status: (sessions.get(userId) ?? []).some((s) => !isMobileClient(s.clientType)) ? USER_STATUS_ONLINE : USER_STATUS_OFFLINE,
        }));
        const rsp = IM.Buddy.IMUsersStatRsp.create({ userId: req.userId, userStatList });
        // The gateway relays the answer to the origin connection by attach_data (flows.md, "relay to origin").
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
