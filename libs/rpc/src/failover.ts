import * as grpc from '@grpc/grpc-js';
import { ClientMethod, unaryCall } from './call';
import { NoInstanceError } from './errors';
import { InstancePool } from './instance-pool';
import { isConnectionFailure, rpcError } from './status';

export interface FailoverOptions {
  /** Budget for all attempts together. */
  deadlineMs: number;
  /** Instances to try at most. Default 3. */
  attempts?: number;
  metadata?: grpc.Metadata;
  parent?: grpc.CallOptions['parent'];
}

/**
 * Unary call on one instance of the pool; when the instance is unreachable or
 * its connection breaks (isConnectionFailure) it is marked failed and another,
 * not yet tried, is called. A connection that broke mid-call may have run the
 * request, so methods called this way must tolerate a repeat (be idempotent).
 * Any other status, DEADLINE_EXCEEDED included, goes back to the caller.
 */
export async function callWithFailover<Req, Res>(pool: InstancePool, method: ClientMethod<Req, Res>, req: Req, opts: FailoverOptions): Promise<Res> {
  const attempts = opts.attempts ?? 3;
  const deadline = Date.now() + opts.deadlineMs;
  const tried = new Set<string>();
  let lastErr: unknown;
  for (let i = 0; i < attempts; i += 1) {
    const target = pool.pick(tried);
    if (!target) break;
    const left = deadline - Date.now();
    if (left <= 0) throw rpcError(grpc.status.DEADLINE_EXCEEDED, `${method.path}: deadline spent after ${tried.size} attempt(s)`);
    tried.add(target.id);
    try {
      return await unaryCall(target.client, method, req, { deadlineMs: left, metadata: opts.metadata, parent: opts.parent });
    } catch (err) {
      // A cancelled parent cancels its children: another instance would not help.
      if (!isConnectionFailure(err) || opts.parent?.cancelled) throw err;
      pool.markFailed(target.id);
      lastErr = err;
    }
  }
  if (lastErr !== undefined) throw lastErr;
  throw new NoInstanceError(pool.service);
}
