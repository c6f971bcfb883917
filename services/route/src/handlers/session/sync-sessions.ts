import type * as grpc from '@grpc/grpc-js';
import { tiertalk, type SessionSync, type SessionSyncRsp } from '@tiertalk/proto';
import { routeUnary } from '../call-errors';
import type { RouteDeps } from '../types';
import { presenceOnArrivals, presenceOnDepartures } from './presence';
import { checkSessionSync } from './session-ref';

/**
 * Route.SyncSessions: the gateway lists every live session it holds (on
 * route's resync request after a registry loss, after its etcd lease was
 * renewed, and periodically as a keep-alive). The registry's sessions of that
 * gateway become exactly the list; ghosts it removes are announced like
 * logouts, sessions it restores after a purge like logins. The first sync of a
 * gateway after a registry loss is a rebuild: nothing changed for the users,
 * so nothing is announced.
 */
export function syncSessionsHandler({ store, links, logger }: RouteDeps): grpc.handleUnaryCall<SessionSync, SessionSyncRsp> {
  const log = logger.child({ rpc: 'SyncSessions' });
  const context = (req: SessionSync) => ({ gatewayId: req.gatewayId, listed: req.sessions?.length ?? 0 });
  return routeUnary(log, 'SyncSessions', 'session sync failed', context, async (req) => {
    const gatewayId = req.gatewayId;
    // One sync never touches another gateway's sessions.
    checkSessionSync(req);
    const sessions = req.sessions ?? [];
    const result = await store.syncGateway(gatewayId, sessions);
    const pushes = presenceOnDepartures(links, result.departures) + presenceOnArrivals(links, gatewayId, result.arrivals);
    const level = result.added > 0 || result.removed > 0 ? 'info' : 'debug';
    log[level]({ gatewayId, listed: sessions.length, added: result.added, removed: result.removed, rebuild: result.rebuild, pushes }, 'sessions synced');
    return tiertalk.SessionSyncRsp.create({ added: result.added, removed: result.removed });
  });
}
