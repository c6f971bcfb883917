import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import { Counter, metricsRegistry } from '@tiertalk/metrics';
import { CatalogueError } from './error-catalogue';

const internalErrors = new Counter({
  name: 'tt_rpc_internal_errors_total',
  help: 'Unary gRPC calls answered INTERNAL because the handler failed unexpectedly, by method',
  labelNames: ['method'] as const,
  registers: [metricsRegistry],
});

export interface UnaryHandlerOptions<Req> {
  /** Method name for logs and the metric. */
  name: string;
  log: Logger;
  /** Turns a known non-catalogue failure into a catalogue error (db-proxy: a full MySQL pool is db_busy). */
  classify?(err: unknown): CatalogueError | undefined;
  /** Sees every catalogue error before it is answered (refusal counting, logs); `cause` is what the handler threw. */
  onRefused?(err: CatalogueError, req: Req, cause: unknown): void;
}

/**
 * The one adapter from an async handler to a gRPC unary method. A thrown
 * CatalogueError answers its code's status with the code in metadata; anything
 * else is logged, counted and answered INTERNAL with a fixed message, so no
 * stack or internal text reaches the caller. Never throws.
 */
export function unaryHandler<Req, Res>(
  opts: UnaryHandlerOptions<Req>,
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Res | Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          const known = err instanceof CatalogueError ? err : opts.classify?.(err);
          if (known !== undefined) {
            opts.onRefused?.(known, call.request, err);
            callback(known.toServiceError());
            return;
          }
          internalErrors.inc({ method: opts.name });
          opts.log.error({ err, method: opts.name }, 'request failed');
          callback(new CatalogueError('internal', `${opts.name} failed`).toServiceError());
        },
      );
  };
}
