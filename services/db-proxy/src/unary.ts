import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import { RefusalLog } from '@tiertalk/metrics';
import { CatalogueError, unaryHandler } from '@tiertalk/rpc';
import { isPoolQueueFull } from './store/mysql';

/** A request db-proxy refuses for what it is (bad ids, another user's data): request_invalid / request_forbidden. */
export class RequestError extends CatalogueError {
  constructor(
    code: 'request_invalid' | 'request_forbidden',
    message: string,
    /** The refusal's metric reason (fixed snake_case); defaults to the code. */
    readonly reason: string = code,
  ) {
    super(code, message);
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

/** A full MySQL pool queue is db_busy (RESOURCE_EXHAUSTED): the caller may try again shortly. */
export function classifyStoreError(name: string): (err: unknown) => CatalogueError | undefined {
  return (err) => (isPoolQueueFull(err) ? new CatalogueError('db_busy', `${name}: db-proxy busy (MySQL pool queue full)`) : undefined);
}

/**
 * A DbProxy method through the rpc adapter (unaryHandler): refusals answer
 * their catalogue code and are counted (tt_refusals_total), a full MySQL pool
 * queue answers db_busy, anything else is logged and answered internal.
 */
export function unary<Req, Res>(name: string, log: Logger, fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  const refusals = refusalLogOf(log);
  return unaryHandler<Req, Res>(
    {
      name,
      log,
      classify: classifyStoreError(name),
      onRefused: (err, req) => {
        if (err.code === 'db_busy') refusals.refuse('mysql_pool_queue_full', name);
        else refusals.refuse(err instanceof RequestError ? err.reason : err.code, offenderOf(req), { method: name, detail: err.message });
      },
    },
    (req) => fn(req),
  );
}
