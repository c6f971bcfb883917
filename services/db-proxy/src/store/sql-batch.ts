import { format } from 'mysql2';
import type { PoolConnection } from 'mysql2/promise';

/**
 * Statements sent to MySQL in one round trip: each is formatted with bound
 * parameters (mysql2's escaping, never string concatenation of values) and the
 * list is sent as one multi-statement query. Used only for the message
 * transaction, on a pool of its own that allows multiple statements.
 */
export class SqlBatch {
  private readonly statements: string[] = [];

  add(sql: string, params: ReadonlyArray<string | number>): void {
    this.statements.push(format(sql, params as Array<string | number>));
  }

  get size(): number {
    return this.statements.length;
  }

  /**
   * BEGIN; …; COMMIT in one round trip. On error the transaction is rolled back.
   * A deadlock or lock-wait timeout (two db-proxy instances bumping the same
   * session rows) rolls the whole transaction back, so it is simply run again,
   * a few times, after a short random pause.
   */
  async runInTransaction(conn: PoolConnection, attempts = 4): Promise<void> {
    if (this.statements.length === 0) return;
    const sql = ['START TRANSACTION', ...this.statements, 'COMMIT'].join(';\n');
    for (let attempt = 1; ; attempt += 1) {
      try {
        await conn.query(sql);
        return;
      } catch (err) {
        // MySQL stops at the failing statement, leaving the transaction open.
        await conn.query('ROLLBACK').catch(() => undefined);
        if (attempt >= attempts || !isLockConflict(err)) throw err;
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
      }
    }
  }
}

// ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT: nothing of the transaction stays once it is rolled back.
const LOCK_CONFLICT_ERRNOS = new Set([1213, 1205]);

function isLockConflict(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'errno' in err && LOCK_CONFLICT_ERRNOS.has(Number(err.errno));
}
