import type * as grpc from '@grpc/grpc-js';
import { tiertalk, type Empty, type SessionRef } from '@tiertalk/proto';
import { toServiceError } from '../call-errors';
import type { RouteDeps } from '../types';
import { presenceOnLogout } from './presence';
import { checkSessionRef } from './session-ref';

/**
 * Removes exactly this session; unknown sessions are fine (idempotent). The
 * gateway calls Logout when TeamTalk's msg server sends IMUserStatusUpdate
 * OFFLINE (docs/FLOWS.md §12 close processing), so presence follows (§5).
 */
export function logoutHandler({ store, links, logger }: RouteDeps): grpc.handleUnaryCall<SessionRef, Empty> {
  const log = logger.child({ rpc: 'Logout' });
  return (call, callback) => {
    const ref = call.request;
    Promise.resolve()
      .then(async () => {
        checkSessionRef(ref);
        // The stored client type, not the caller's, decides: it is what the registry counted.
        const { removed, remaining } = await store.leave(ref);
        presenceOnLogout(links, ref.userId, removed, remaining);
        return removed !== undefined;
      })
      .then(
        (existed) => {
          log.debug({ userId: ref.userId, gatewayId: ref.gatewayId, connId: ref.connId, existed }, 'session removed');
          callback(null, tiertalk.Empty.create());
        },
        (err: unknown) => {
          log.warn({ err, userId: ref.userId, gatewayId: ref.gatewayId, connId: ref.connId }, 'logout failed');
          callback(toServiceError(err));
        },
      );
  };
}
