import { RouteService } from '@tiertalk/proto';
import { accessPolicy } from '@tiertalk/rpc';

/**
 * Who may call route (mutual TLS, docs/SECURITY.md): only gateways register
 * sessions and deliver; the operator's admin CLI delivers its group notifies.
 */
export const routeAccess = accessPolicy('Route', RouteService, {
  LoginStream: ['msg'],
  LogoutStream: ['msg'],
  Deliver: ['msg', 'admin'],
  SyncSessions: ['msg'],
  UsersStat: ['msg'],
  KickUser: ['msg'],
});
