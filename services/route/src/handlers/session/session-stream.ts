import type { Logger } from '@tiertalk/log';
import { tiertalk, type SessionBatch, type SessionResults } from '@tiertalk/proto';
import { BatchedCallService } from '@tiertalk/rpc';
import { toCatalogueError } from '../call-errors';

/** Session changes one gateway stream may have running before its reading pauses. */
const MAX_IN_FLIGHT_PER_STREAM = 4000;

export type SessionStreamService = BatchedCallService<SessionBatch, SessionResults, tiertalk.SessionItem.$Properties, tiertalk.SessionResult.$Properties>;

/**
 * A gateway's session changes (LoginStream, LogoutStream) in batches on one
 * long-lived stream per gateway, each item run at once and answered by its
 * ref: done (with `kicked` for a login) or `error` when it was not done.
 */
export function sessionStreamService(
  rpc: string,
  logger: Logger,
  run: (ref: tiertalk.SessionRef.$Properties) => Promise<{ kicked?: number }>,
): SessionStreamService {
  const log = logger.child({ rpc });
  return new BatchedCallService(
    {
      itemsOf: (batch) => batch.items,
      run: async (item) => {
        const done = await run(item.session);
        log.debug({ userId: item.session.userId, gatewayId: item.session.gatewayId, connId: item.session.connId, ...done }, 'done');
        return { ref: item.ref, ...done };
      },
      failed: (item, err) => {
        const ref = item.session;
        log.warn({ err, userId: ref.userId, gatewayId: ref.gatewayId, connId: ref.connId }, 'failed');
        // The catalogue code (request_invalid, registry_unavailable), matched by the gateway.
        return { ref: item.ref, error: toCatalogueError(err).code };
      },
      batchOf: (items, stop) => tiertalk.SessionResults.create({ items, ...(stop ? { stop: { result: 0 } } : {}) }),
    },
    { maxInFlight: MAX_IN_FLIGHT_PER_STREAM, logger: log },
  );
}
