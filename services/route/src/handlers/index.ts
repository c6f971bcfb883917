import type * as grpc from '@grpc/grpc-js';
import type { DeliverReport, EnvelopeBatch, IM, SessionBatch, SessionLoginRsp, SessionResults, SessionSync, SessionSyncRsp, UsersStatReq, UsersStatRsp } from '@tiertalk/proto';
import { deliverHandler } from './message/deliver';
import { loginStreamService } from './session/login';
import { logoutStreamService } from './session/logout';
import type { SessionStreamService } from './session/session-stream';
import { syncSessionsHandler } from './session/sync-sessions';
import type { RouteDeps } from './types';
import { kickUserHandler } from './user/kick-user';
import { usersStatHandler } from './user/users-stat';

export type { PushSink, PushWaiter, RegistryReadiness, RouteDeps } from './types';

/** The Route service (proto/internal/tiertalk.proto), one handler per rpc. */
export type RouteImplementation = {
  LoginStream: grpc.handleBidiStreamingCall<SessionBatch, SessionResults>;
  LogoutStream: grpc.handleBidiStreamingCall<SessionBatch, SessionResults>;
  Deliver: grpc.handleBidiStreamingCall<EnvelopeBatch, DeliverReport>;
  SyncSessions: grpc.handleUnaryCall<SessionSync, SessionSyncRsp>;
  UsersStat: grpc.handleUnaryCall<UsersStatReq, UsersStatRsp>;
  KickUser: grpc.handleUnaryCall<IM.Server.IMServerKickUser, SessionLoginRsp>;
};

export type { SessionStreamService } from './session/session-stream';

/** The session streams (main drains them at shutdown, before the server stops). */
export interface SessionStreams {
  login: SessionStreamService;
  logout: SessionStreamService;
}

export function sessionStreams(deps: RouteDeps): SessionStreams {
  return { login: loginStreamService(deps), logout: logoutStreamService(deps) };
}

export function routeHandlers(deps: RouteDeps, streams: SessionStreams = sessionStreams(deps)): RouteImplementation {
  return {
    LoginStream: streams.login.handle,
    LogoutStream: streams.logout.handle,
    Deliver: deliverHandler(deps),
    SyncSessions: syncSessionsHandler(deps),
    UsersStat: usersStatHandler(deps),
    KickUser: kickUserHandler(deps),
  };
}
