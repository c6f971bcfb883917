
/** A bound value: sent in MySQL's binary protocol, never spliced into SQL text. */
export type SqlValue = string | number | Buffer | null;

export interface Statement {
  sql: string;
  params: SqlValue[];
  /** Its kind for timings (statementLabel). */
  label: string;
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
  private readonly list: Statement[] = [];

  /** One statement of fixed shape. */
  add(sql: string, params: readonly SqlValue[]): void {
    this.list.push({ sql, params: [...params], label: statementLabel(sql) });
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
      const sql = `${head} VALUES ${Array.from({ length: size }, () => rowSql).join(', ')}${tail === '' ? '' : ` ${tail}`}`;
      this.list.push({ sql, params: chunk.flat(), label: statementLabel(sql) });
    }
  }

  get size(): number {
    return this.list.length;
  }

  /** In order; run by runTransaction (transaction-runner.ts). */
  get statements(): readonly Statement[] {
    return this.list;
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
