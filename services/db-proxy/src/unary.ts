import * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import { rpcError } from '@tiertalk/rpc';

/** A request db-proxy refuses for what it is (bad ids, another user's data): INVALID_ARGUMENT / PERMISSION_DENIED. */
export class RequestError extends Error {
  constructor(
    readonly code: 'INVALID_ARGUMENT' | 'PERMISSION_DENIED',
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/**
 * Adapts an async handler to a gRPC unary method: refusals map to their status
 * codes, anything else is logged and answered INTERNAL. Never throws.
 */
export function unary<Req, Res>(name: string, log: Logger, fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request).then(
      (res) => callback(null, res),
      (err: unknown) => {
        if (err instanceof RequestError) {
          log.warn({ method: name, reason: err.message }, 'request refused');
          callback(rpcError(err.code === 'INVALID_ARGUMENT' ? grpc.status.INVALID_ARGUMENT : grpc.status.PERMISSION_DENIED, err.message));
          return;
        }
        log.error({ err, method: name }, 'request failed');
        callback(rpcError(grpc.status.INTERNAL, `${name} failed`));
      },
    );
  };
}
