import type * as grpc from '@grpc/grpc-js';
import type { DeliverReport, Empty, EnvelopeBatch, IM, SessionLoginRsp, SessionRef, SessionSync, SessionSyncRsp, UsersStatReq, UsersStatRsp } from '@tiertalk/proto';
import { deliverHandler } from './message/deliver';
import { loginHandler } from './session/login';
import { logoutHandler } from './session/logout';
import { syncSessionsHandler } from './session/sync-sessions';
import type { RouteDeps } from './types';
import { kickUserHandler } from './user/kick-user';
import { usersStatHandler } from './user/users-stat';

export type { PushSink, PushWaiter, RegistryReadiness, RouteDeps } from './types';

/** The Route service (proto/internal/tiertalk.proto), one handler per rpc. */
export type RouteImplementation = {
  Login: grpc.handleUnaryCall<SessionRef, SessionLoginRsp>;
  Logout: grpc.handleUnaryCall<SessionRef, Empty>;
  Deliver: grpc.handleBidiStreamingCall<EnvelopeBatch, DeliverReport>;
  SyncSessions: grpc.handleUnaryCall<SessionSync, SessionSyncRsp>;
  UsersStat: grpc.handleUnaryCall<UsersStatReq, UsersStatRsp>;
  KickUser: grpc.handleUnaryCall<IM.Server.IMServerKickUser, SessionLoginRsp>;
};

export function routeHandlers(deps: RouteDeps): RouteImplementation {
  return {
    Login: loginHandler(deps),
    Logout: logoutHandler(deps),
    Deliver: deliverHandler(deps),
    SyncSessions: syncSessionsHandler(deps),
    UsersStat: usersStatHandler(deps),
    KickUser: kickUserHandler(deps),
  };
}
