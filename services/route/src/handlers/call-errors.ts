import { status, type ServiceError } from '@grpc/grpc-js';
import { isServiceError, rpcError } from '@tiertalk/rpc';

/** Our own rpcError passes through; anything else (Redis down...) becomes UNAVAILABLE so callers may retry. */
export function toServiceError(err: unknown): ServiceError {
  if (isServiceError(err)) return err;
  return rpcError(status.UNAVAILABLE, 'session registry unavailable');
}
