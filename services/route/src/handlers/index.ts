import type * as grpc from '@grpc/grpc-js';
import type { DeliverReport, Empty, EnvelopeBatch, IM, SessionLoginBatch, SessionLoginResults, SessionLoginRsp, SessionRef, SessionSync, SessionSyncRsp, UsersStatReq, UsersStatRsp } from '@tiertalk/proto';
import { deliverHandler } from './message/deliver';
import { loginStreamService, type LoginStreamService } from './session/login';
import { logoutHandler } from './session/logout';
import { syncSessionsHandler } from './session/sync-sessions';
import type { RouteDeps } from './types';
import { kickUserHandler } from './user/kick-user';
import { usersStatHandler } from './user/users-stat';

export type { PushSink, PushWaiter, RegistryReadiness, RouteDeps } from './types';

/** The Route service (proto/internal/tiertalk.proto), one handler per rpc. */
export type RouteImplementation = {
  LoginStream: grpc.handleBidiStreamingCall<SessionLoginBatch, SessionLoginResults>;
  Logout: grpc.handleUnaryCall<SessionRef, Empty>;
  Deliver: grpc.handleBidiStreamingCall<EnvelopeBatch, DeliverReport>;
  SyncSessions: grpc.handleUnaryCall<SessionSync, SessionSyncRsp>;
  UsersStat: grpc.handleUnaryCall<UsersStatReq, UsersStatRsp>;
  KickUser: grpc.handleUnaryCall<IM.Server.IMServerKickUser, SessionLoginRsp>;
};

export { loginStreamService } from './session/login';
export type { LoginStreamService } from './session/login';

/** The handlers, and the login stream's service (main drains it at shutdown). */
export function routeHandlers(deps: RouteDeps, loginStream: LoginStreamService = loginStreamService(deps)): RouteImplementation {
  return {
    LoginStream: loginStream.handle,
    Logout: logoutHandler(deps),
    Deliver: deliverHandler(deps),
    SyncSessions: syncSessionsHandler(deps),
    UsersStat: usersStatHandler(deps),
    KickUser: kickUserHandler(deps),
  };
}
