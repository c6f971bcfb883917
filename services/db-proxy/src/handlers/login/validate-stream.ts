import type { Logger } from '@tiertalk/log';
import { tiertalk, type ValidateBatch, type ValidatedBatch } from '@tiertalk/proto';
import { BatchedCallService } from '@tiertalk/rpc';
import { isPoolQueueFull } from '../../store/mysql';
import { refusalLogOf } from '../../unary';
import type { ValidateHandler } from './validate';

type Item = tiertalk.ValidateItem.$Properties;
type Reply = tiertalk.ValidatedItem.$Properties;

/** Logins one gateway stream may have in validation before its reading pauses (the hasher queue bounds the work). */
const MAX_IN_FLIGHT_PER_STREAM = 4000;

/**
 * DbProxy.ValidateStream: the gateways' logins in batches on one long-lived
 * stream each, every IMValidateReq checked at once by ValidateHandler and
 * answered by its ref. A check that fails (MySQL or Redis down) is answered
 * with `error`: the gateway refuses that login with NO_DB_SERVER.
 */
export function validateStreamService(validate: ValidateHandler, log: Logger): BatchedCallService<ValidateBatch, ValidatedBatch, Item, Reply> {
  return new BatchedCallService<ValidateBatch, ValidatedBatch, Item, Reply>(
    {
      itemsOf: (batch) => batch.items,
      run: async (item, streamGone) => {
        // As a unary call's deadline did: queued hash work of a login the gateway gave up on is skipped.
        const expiry = item.budgetMs ? Date.now() + item.budgetMs : Infinity;
        return { ref: item.ref, rsp: await validate.validate(item.req, () => streamGone() || Date.now() > expiry) };
      },
      failed: (item, err) => {
        // The catalogue code (db_busy, internal), matched by the gateway.
        if (isPoolQueueFull(err)) {
          refusalLogOf(log).refuse('mysql_pool_queue_full', 'ValidateStream');
          return { ref: item.ref, error: 'db_busy' };
        }
        log.error({ err, userName: item.req?.userName }, 'validate failed');
        return { ref: item.ref, error: 'internal' };
      },
      batchOf: (items, stop) => tiertalk.ValidatedBatch.create({ items, ...(stop ? { stop: { result: 0 } } : {}) }),
    },
    { maxInFlight: MAX_IN_FLIGHT_PER_STREAM, logger: log.child({ rpc: 'ValidateStream' }) },
  );
}
