import { RouteService } from '@tiertalk/proto';
import { accessPolicy } from '@tiertalk/rpc';

/**
 * Who may call route (mutual TLS, docs/SECURITY.md): only gateways register
 * sessions and deliver; the operator's admin service (and CLI) delivers its
 * group notifies and kicks the sessions of a user it disabled; the send API
 * (http-api) delivers the messages and group notifies it makes.
 */
export const routeAccess = accessPolicy('Route', RouteService, {
  LoginStream: ['msg'],
  LogoutStream: ['msg'],
  Deliver: ['msg', 'admin', 'http-api'],
  SyncSessions: ['msg'],
  UsersStat: ['msg'],
  KickUser: ['msg', 'admin'],
});
