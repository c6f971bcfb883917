import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '@tiertalk/log';
import { CatalogueError, unaryHandler } from '@tiertalk/rpc';

/** Our own catalogue errors pass through; anything else (Redis down...) is registry_unavailable so callers may retry. */
export function toCatalogueError(err: unknown): CatalogueError {
  if (err instanceof CatalogueError) return err;
  return new CatalogueError('registry_unavailable', 'session registry unavailable');
}

/**
 * A Route method through the rpc adapter: every failure answers its catalogue
 * code (toCatalogueError) and is logged at warn with `context` of the request.
 */
export function routeUnary<Req, Res>(
  log: Logger,
  name: string,
  failed: string,
  context: (req: Req) => Record<string, unknown>,
  fn: (req: Req) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return unaryHandler<Req, Res>(
    {
      name,
      log,
      classify: toCatalogueError,
      onRefused: (_err, req, cause) => log.warn({ err: cause, ...context(req) }, failed),
    },
    fn,
  );
}
