import type * as grpc from '@grpc/grpc-js';
import { tiertalk, type Empty, type SessionRef } from '@tiertalk/proto';
import { toServiceError } from '../call-errors';
import type { RouteDeps } from '../types';
import { checkSessionRef } from './session-ref';

/** Removes exactly this session; unknown sessions are fine (idempotent). */
export function logoutHandler({ store, logger }: RouteDeps): grpc.handleUnaryCall<SessionRef, Empty> {
  const log = logger.child({ rpc: 'Logout' });
  return (call, callback) => {
    const ref = call.request;
    Promise.resolve()
      .then(() => {
        checkSessionRef(ref);
        return store.logout(ref);
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
