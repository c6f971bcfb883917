import type { Pool, PoolConnection } from 'mysql2/promise';
import type { Logger } from '@tiertalk/log';
import { Counter, metricsRegistry } from '@tiertalk/metrics';
import { committedAfterLostConnection, RowProbe } from './commit-outcome';
import { isFatal } from './mysql-errors';
import type { SqlBatch, StatementObserver } from './sql-batch';

// The one place a message transaction is rolled back and retried. Every
// message transaction (the master's, each shard server's) runs here:
// - a statement error: ROLLBACK, and the error goes to the caller, who
//   knows nothing was written (a duplicate key then re-plans the commit);
// - a deadlock or lock-wait timeout (another db-proxy, another lane or an
//   admin write holding a row the commit needs): ROLLBACK, a short random
//   pause, and the whole transaction again, a few times;
// - the connection died under it (e.g. under COMMIT): the outcome is found
//   out (commit-outcome.ts), so a committed transaction counts as committed.

const DEFAULT_ATTEMPTS = 4;
// ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT: InnoDB rolled the transaction back; nothing of it stays.
const LOCK_CONFLICT_ERRNOS = new Map([
  [1213, 'deadlock'],
  [1205, 'lock_wait_timeout'],
]);

const retries = new Counter({
  name: 'tt_store_transaction_retries_total',
  help: 'Message transactions run again after InnoDB rolled them back, by reason: deadlock, lock_wait_timeout',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});
retries.inc({ reason: 'deadlock' }, 0);
retries.inc({ reason: 'lock_wait_timeout' }, 0);

/** Errors whose transaction may have committed (its connection died and the server could not tell). */
const unknownOutcomes = new WeakSet<object>();

/** True when the failed transaction surely left nothing behind (false: it may have committed). */
export function surelyRolledBack(err: unknown): boolean {
  return !(typeof err === 'object' && err !== null && unknownOutcomes.has(err));
}

/** A transaction a caller may give up on while it runs (a hung shard server): the caller destroys `conn`. */
export interface Abandonable {
  abandoned: boolean;
  /** The connection the transaction runs on, while it runs. */
  conn?: PoolConnection;
}

export interface TransactionOptions {
  /** A pool of the same server, for the outcome check after a lost connection. */
  checkPool: Pool;
  /** Finds one row of the transaction if it committed. */
  probe: RowProbe;
  log: Logger;
  /** Logged with a lost connection's outcome (e.g. the msg ids taken). */
  context?: Record<string, unknown>;
  onStatement?: StatementObserver;
  abandonable?: Abandonable;
  attempts?: number;
}

/** BEGIN, the batch's statements, COMMIT, on a connection of `writer`; resolves once committed, throws when not (or unknown). */
export async function runTransaction(writer: Pool, batch: SqlBatch, opts: TransactionOptions): Promise<void> {
  if (batch.size === 0) return;
  const { abandonable, onStatement } = opts;
  const timed = async (label: string, run: () => Promise<unknown>): Promise<void> => {
    const started = performance.now();
    await run();
    onStatement?.(label, (performance.now() - started) / 1000);
  };
  const conn = await writer.getConnection();
  let usable = true;
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        // Given up on while it waited for a connection: its senders were answered, nothing is written.
        if (abandonable?.abandoned) throw new Error('transaction given up before it started');
        if (abandonable !== undefined) abandonable.conn = conn;
        await timed('begin', () => conn.query('START TRANSACTION'));
        for (const s of batch.statements) await timed(s.label, () => conn.execute(s.sql, s.params));
        await timed('commit', () => conn.query('COMMIT'));
        return;
      } catch (err) {
        if (abandonable?.abandoned || !(await rollBack(conn, err))) {
          usable = false;
          conn.destroy();
          // Given up on: its senders were answered; a retry finds whatever committed.
          if (!abandonable?.abandoned && (await committedDespite(opts, err, conn.threadId))) return;
          if (typeof err === 'object' && err !== null) unknownOutcomes.add(err);
          throw err;
        }
        const reason = lockConflict(err);
        if (attempt >= (opts.attempts ?? DEFAULT_ATTEMPTS) || reason === undefined) throw err;
        retries.inc({ reason });
        opts.log.info({ reason, attempt, ...opts.context }, 'message transaction rolled back by InnoDB; running it again');
        // Apart in time, so the two conflicting transactions do not meet again.
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
      }
    }
  } finally {
    if (abandonable !== undefined) abandonable.conn = undefined;
    if (usable) conn.release();
  }
}

/**
 * After a failed statement: true when MySQL surely rolled the transaction
 * back. A ROLLBACK that succeeds proves no transaction is open; a lost
 * connection may have died after COMMIT reached the server: unknown.
 */
async function rollBack(conn: PoolConnection, err: unknown): Promise<boolean> {
  if (isFatal(err)) return false;
  try {
    await conn.query('ROLLBACK');
    return true;
  } catch {
    return false;
  }
}

/**
 * The connection died during the transaction: find out whether it
 * committed, so a stored message is never answered "not stored". When the
 * server cannot tell, the original error stands (STORE_FAILED); a sender
 * that resends with the same idempotency key still gets one row.
 */
async function committedDespite(opts: TransactionOptions, err: unknown, threadId: number): Promise<boolean> {
  try {
    const committed = await committedAfterLostConnection(opts.checkPool, threadId, opts.probe);
    opts.log.warn({ err, committed, ...opts.context }, 'message transaction lost its connection; outcome checked');
    return committed;
  } catch (checkErr) {
    opts.log.error({ err, checkErr, ...opts.context }, 'message transaction outcome unknown; its ids are not reused');
    return false;
  }
}

function lockConflict(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'errno' in err ? LOCK_CONFLICT_ERRNOS.get(Number(err.errno)) : undefined;
}
