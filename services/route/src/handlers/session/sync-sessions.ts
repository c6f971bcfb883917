import type * as grpc from '@grpc/grpc-js';
import { tiertalk, type SessionSync, type SessionSyncRsp } from '@tiertalk/proto';
import { toServiceError } from '../call-errors';
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
  return (call, callback) => {
    const req = call.request;
    const gatewayId = req.gatewayId;
    Promise.resolve()
      .then(async () => {
        // One sync never touches another gateway's sessions.
        checkSessionSync(req);
        const sessions = req.sessions ?? [];
        const result = await store.syncGateway(gatewayId, sessions);
        const pushes = presenceOnDepartures(links, result.departures) + presenceOnArrivals(links, gatewayId, result.arrivals);
        return { ...result, pushes, listed: sessions.length };
      })
      .then(
        (r) => {
          const level = r.added > 0 || r.removed > 0 ? 'info' : 'debug';
          log[level]({ gatewayId, listed: r.listed, added: r.added, removed: r.removed, rebuild: r.rebuild, pushes: r.pushes }, 'sessions synced');
          callback(null, tiertalk.SessionSyncRsp.create({ added: r.added, removed: r.removed }));
        },
        (err: unknown) => {
          log.warn({ err, gatewayId, listed: req.sessions?.length ?? 0 }, 'session sync failed');
          callback(toServiceError(err));
        },
      );
  };
}
