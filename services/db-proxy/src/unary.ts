import * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import { RefusalLog } from '@tiertalk/metrics';
import { rpcError } from '@tiertalk/rpc';
import { isPoolQueueFull } from './store/mysql';

/** A request db-proxy refuses for what it is (bad ids, another user's data): INVALID_ARGUMENT / PERMISSION_DENIED. */
export class RequestError extends Error {
  constructor(
    readonly code: 'INVALID_ARGUMENT' | 'PERMISSION_DENIED',
    message: string,
    /** The refusal's metric reason (fixed snake_case); defaults by code. */
    readonly reason: string = code === 'INVALID_ARGUMENT' ? 'request_invalid' : 'request_forbidden',
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

// One RefusalLog per logger: its once-per-interval memory is shared by every method.
const refusalLogs = new WeakMap<Logger, RefusalLog>();

export function refusalLogOf(log: Logger): RefusalLog {
  let r = refusalLogs.get(log);
  if (r === undefined) refusalLogs.set(log, (r = new RefusalLog(log)));
  return r;
}

/** Who asked, for the refusal log (the gateway sets user_id to the connection's user). */
function offenderOf(req: unknown): string {
  const userId = typeof req === 'object' && req !== null && 'userId' in req ? Number(req.userId) : 0;
  return userId > 0 ? `user ${userId}` : 'unknown';
}

/**
 * Adapts an async handler to a gRPC unary method: refusals map to their status
 * codes and are counted (tt_refusals_total), a full MySQL pool queue answers
 * RESOURCE_EXHAUSTED, anything else is logged and answered INTERNAL. Never throws.
 */
export function unary<Req, Res>(name: string, log: Logger, fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  const refusals = refusalLogOf(log);
  return (call, callback) => {
    fn(call.request).then(
      (res) => callback(null, res),
      (err: unknown) => {
        if (err instanceof RequestError) {
          refusals.refuse(err.reason, offenderOf(call.request), { method: name, detail: err.message });
          callback(rpcError(err.code === 'INVALID_ARGUMENT' ? grpc.status.INVALID_ARGUMENT : grpc.status.PERMISSION_DENIED, err.message));
          return;
        }
        if (isPoolQueueFull(err)) {
          refusals.refuse('mysql_pool_queue_full', name);
          callback(rpcError(grpc.status.RESOURCE_EXHAUSTED, `${name}: db-proxy busy (MySQL pool queue full)`));
          return;
        }
        log.error({ err, method: name }, 'request failed');
        callback(rpcError(grpc.status.INTERNAL, `${name} failed`));
      },
    );
  };
}
