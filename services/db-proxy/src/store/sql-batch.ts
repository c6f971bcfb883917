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

  /** BEGIN; …; COMMIT in one round trip. On error the transaction is rolled back. */
  async runInTransaction(conn: PoolConnection): Promise<void> {
    if (this.statements.length === 0) return;
    const sql = ['START TRANSACTION', ...this.statements, 'COMMIT'].join(';\n');
    try {
      await conn.query(sql);
    } catch (err) {
      // MySQL stops at the failing statement, leaving the transaction open.
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
