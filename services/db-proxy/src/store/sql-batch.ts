import type { PoolConnection } from 'mysql2/promise';

/** A bound value: sent in MySQL's binary protocol, never spliced into SQL text. */
export type SqlValue = string | number | Buffer | null;

interface Statement {
  sql: string;
  params: SqlValue[];
}

// Multi-row statements are cut into chunks whose row counts come from a small
// fixed set, so each table has at most ~31 statement shapes: they stay in
// mysql2's per-connection prepared-statement cache instead of being prepared
// for every batch size. A chunk of n rows: 256s, then a multiple of 16, then
// the rest (< 16): at most two statements per 256 rows.
const BIG_CHUNK = 256;
const STEP = 16;

/** The row counts of the chunks a list of n rows is sent in (in order, summing to n). */
export function chunkSizes(n: number): number[] {
  const sizes: number[] = [];
  let rest = n;
  while (rest >= BIG_CHUNK) {
    sizes.push(BIG_CHUNK);
    rest -= BIG_CHUNK;
  }
  const stepped = rest - (rest % STEP);
  if (stepped > 0) sizes.push(stepped);
  if (rest % STEP > 0) sizes.push(rest % STEP);
  return sizes;
}

/**
 * The statements of one message transaction, each run as a server-side
 * prepared statement (`execute`): values travel as bound parameters, so
 * neither the server's sql_mode nor a message's bytes can change what a
 * statement does. The connection accepts one statement per round trip
 * (multipleStatements is off everywhere).
 */
export class SqlBatch {
  private readonly statements: Statement[] = [];

  /** One statement of fixed shape. */
  add(sql: string, params: readonly SqlValue[]): void {
    this.statements.push({ sql, params: [...params] });
  }

  /**
   * A multi-row statement: `head` + `VALUES (row), (row)…` + `tail`, one
   * `rowSql` per row, cut into chunks (chunkSizes). Row order is kept.
   */
  addRows(head: string, rowSql: string, rows: ReadonlyArray<readonly SqlValue[]>, tail = ''): void {
    let at = 0;
    for (const size of chunkSizes(rows.length)) {
      const chunk = rows.slice(at, at + size);
      at += size;
      this.statements.push({
        sql: `${head} VALUES ${Array.from({ length: size }, () => rowSql).join(', ')}${tail === '' ? '' : ` ${tail}`}`,
        params: chunk.flat(),
      });
    }
  }

  get size(): number {
    return this.statements.length;
  }

  /**
   * BEGIN, the statements, COMMIT. On error the transaction is rolled back.
   * A deadlock or lock-wait timeout (two db-proxy instances bumping the same
   * session rows) rolls the whole transaction back, so it is simply run again,
   * a few times, after a short random pause.
   */
  async runInTransaction(conn: PoolConnection, attempts = 4, onStatement?: StatementObserver): Promise<void> {
    if (this.statements.length === 0) return;
    const timed = async (label: string, run: () => Promise<unknown>): Promise<void> => {
      if (onStatement === undefined) {
        await run();
        return;
      }
      const started = performance.now();
      await run();
      onStatement(label, (performance.now() - started) / 1000);
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await timed('begin', () => conn.query('START TRANSACTION'));
        for (const s of this.statements) await timed(statementLabel(s.sql), () => conn.execute(s.sql, s.params));
        await timed('commit', () => conn.query('COMMIT'));
        return;
      } catch (err) {
        // A failed statement leaves the transaction open.
        await conn.query('ROLLBACK').catch(() => undefined);
        if (attempt >= attempts || !isLockConflict(err)) throw err;
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
      }
    }
  }
}

/** Told how long each statement of a transaction took (labelled by statementLabel), for the commit's timings. */
export type StatementObserver = (label: string, seconds: number) => void;

/**
 * A statement's kind for timings: verb and table, shard suffix dropped
 * ("insert IMMessage", "upsert IMRecentSession"), so labels stay few.
 */
export function statementLabel(sql: string): string {
  const m = /^\s*(INSERT INTO|UPDATE|DELETE FROM|SELECT)\s+`?([A-Za-z]+)/i.exec(sql);
  if (m === null) return 'other';
  const verb = m[1].toUpperCase() === 'INSERT INTO' ? (/ON DUPLICATE KEY UPDATE/i.test(sql) ? 'upsert' : 'insert') : m[1].split(' ')[0].toLowerCase();
  return `${verb} ${m[2]}`;
}

// ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT: nothing of the transaction stays once it is rolled back.
const LOCK_CONFLICT_ERRNOS = new Set([1213, 1205]);

function isLockConflict(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'errno' in err && LOCK_CONFLICT_ERRNOS.has(Number(err.errno));
}
