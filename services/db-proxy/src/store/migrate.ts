// Versioned, idempotent schema migrations plus the demo seed.
// Migrations are plain SQL files `NNNN_name.sql`; the applied ones are recorded
// in `tt_schema_migrations`, and every statement in them is itself idempotent
// (IF NOT EXISTS / INSERT IGNORE) because MySQL DDL cannot be rolled back: a
// run that dies half-way is simply re-applied from the top of the file.
import { createHash, randomInt } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import type { Connection, Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { nowSec } from '@tiertalk/proto';

/** Works from src/store (jest) and dist/store (built). */
export const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

const MIGRATION_FILE = /^(\d{4})_[A-Za-z0-9_-]+\.sql$/;
const LOCK_TIMEOUT_SEC = 60;

/** Pino's logger satisfies this; the CLI passes a stdout writer. */
export interface MigrationLog {
  info(msg: string): void;
}

export class MigrationError extends Error {
  readonly code = 'MIGRATION_FAILED';
  constructor(message: string, readonly version?: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

interface VersionRow extends RowDataPacket {
  version: string;
}

/** Splits a migration file into statements: `;` at a line end ends one; `--` and `#` line comments are dropped. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  for (const raw of sql.split(/\r?\n/)) {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('--') || trimmed.startsWith('#')) continue;
    current.push(raw);
    if (trimmed.endsWith(';')) {
      const stmt = current.join('\n').trim().replace(/;$/, '').trim();
      if (stmt !== '') statements.push(stmt);
      current = [];
    }
  }
  const rest = current.join('\n').trim();
  if (rest !== '') statements.push(rest);
  return statements;
}

export async function listMigrations(dir: string): Promise<{ version: string; file: string }[]> {
  const names = (await readdir(dir)).filter((n) => MIGRATION_FILE.test(n)).sort();
  const seen = new Set<string>();
  return names.map((file) => {
    const version = file.replace(/\.sql$/, '');
    const prefix = file.slice(0, 4);
    // Two files with one number would apply in an order that depends on their names.
    if (seen.has(prefix)) throw new MigrationError(`duplicate migration number ${prefix} in ${dir}`, version);
    seen.add(prefix);
    return { version, file: path.join(dir, file) };
  });
}

function isPool(conn: Connection | Pool): conn is Pool {
  return typeof (conn as Partial<Pool>).getConnection === 'function';
}

/**
 * Applies every migration in `dir` not yet recorded, in order; returns the
 * versions applied (empty when the schema is current).
 */
export async function runMigrations(conn: Connection | Pool, dir: string, log: MigrationLog): Promise<string[]> {
  // GET_LOCK is per session, so a pool must lend one connection for the whole run.
  if (isPool(conn)) {
    const single = await conn.getConnection();
    try {
      return await runLocked(single, dir, log);
    } finally {
      single.release();
    }
  }
  return runLocked(conn, dir, log);
}

async function runLocked(conn: Connection, dir: string, log: MigrationLog): Promise<string[]> {
  const [dbRows] = await conn.query<RowDataPacket[]>('SELECT DATABASE() AS db');
  const db: unknown = dbRows[0]?.db;
  if (typeof db !== 'string' || db === '') throw new MigrationError('no database selected (put it in the MySQL URL)');

  // Two instances migrating at once (e.g. replicas starting together) take turns.
  const lockName = `tt_migrate:${db}`.slice(0, 64); // MariaDB caps lock names at 64 chars
  const [lockRows] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [lockName, LOCK_TIMEOUT_SEC]);
  if (lockRows[0]?.got !== 1) throw new MigrationError(`could not take lock ${lockName} within ${LOCK_TIMEOUT_SEC}s`);
  try {
    await conn.query(
      'CREATE TABLE IF NOT EXISTS `tt_schema_migrations` (' +
        '`version` varchar(64) NOT NULL, `applied_at` int(11) unsigned NOT NULL, PRIMARY KEY (`version`)' +
        ') ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
    );
    const [doneRows] = await conn.query<VersionRow[]>('SELECT version FROM tt_schema_migrations');
    const done = new Set(doneRows.map((r) => r.version));
    const applied: string[] = [];
    for (const m of await listMigrations(dir)) {
      if (done.has(m.version)) continue;
      const statements = splitStatements(await readFile(m.file, 'utf8'));
      for (const [i, stmt] of statements.entries()) {
        try {
          await conn.query(stmt);
        } catch (err) {
          throw new MigrationError(`${m.version}: statement ${i + 1} failed: ${describeFailure(stmt, err)}`, m.version);
        }
      }
      await conn.query('INSERT INTO tt_schema_migrations (version, applied_at) VALUES (?, ?)', [m.version, nowSec()]);
      log.info(`applied ${m.version} (${statements.length} statement${statements.length === 1 ? '' : 's'})`);
      applied.push(m.version);
    }
    return applied;
  } finally {
    await conn.query('SELECT RELEASE_LOCK(?)', [lockName]);
  }
}

/** Why a statement failed; a unique key that existing rows violate names the table, so the operator knows what to clean. */
function describeFailure(stmt: string, err: unknown): string {
  const reason = err instanceof Error ? err.message : String(err);
  const table = /^\s*ALTER\s+TABLE\s+`?([A-Za-z0-9_]+)`?/i.exec(stmt)?.[1];
  const duplicate = typeof err === 'object' && err !== null && 'errno' in err && err.errno === 1062;
  if (table !== undefined && duplicate) {
    return `table ${table} has duplicate rows for the new unique key (${reason}); remove the duplicates from ${table} and run the migration again`;
  }
  return table === undefined ? reason : `${table}: ${reason}`;
}

/** `mysql://u:p@h:3306/db?x=y` → server URL without the database, plus the database name. */
export function splitDatabaseUrl(url: string): { serverUrl: string; database: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MigrationError(`not a URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'mysql:') throw new MigrationError(`expected a mysql:// URL, got ${u.protocol}//`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  u.pathname = '/';
  return { serverUrl: u.toString().replace(/\/(\?|$)/, '$1'), database };
}

const DB_NAME = /^[A-Za-z0-9_]{1,64}$/;

/** Creates `dbName` (utf8mb4) on the server at `rootUrl` if it does not exist. */
export async function ensureDatabase(rootUrl: string, dbName: string): Promise<void> {
  // Identifiers cannot be bound parameters, so only plain names are accepted.
  if (!DB_NAME.test(dbName)) throw new MigrationError(`invalid database name ${JSON.stringify(dbName)}`);
  const conn = await createConnection(rootUrl);
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS ${conn.escapeId(dbName)} DEFAULT CHARACTER SET utf8mb4`);
  } finally {
    await conn.end();
  }
}

// ---- demo seed ---------------------------------------------------------

export const DEMO_DEPARTMENT = 'Demo';
export const DEMO_PASSWORD = 'tiertalk';

const DEMO_USERS: readonly { name: string; nick: string; sex: number }[] = [
  { name: 'alice', nick: 'Alice', sex: 2 },
  { name: 'bob', nick: 'Bob', sex: 1 },
  { name: 'carol', nick: 'Carol', sex: 2 },
  { name: 'dave', nick: 'Dave', sex: 1 },
];

const SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function md5hex(s: string): string {
  return createHash('md5').update(s, 'utf8').digest('hex');
}

/** TeamTalk's rule: the client sends md5hex(plain); the row stores md5hex(sent + salt). */
export function storedPassword(plain: string, salt: string): string {
  return md5hex(md5hex(plain) + salt);
}

function randomSalt(): string {
  let s = '';
  for (let i = 0; i < 4; i++) s += SALT_CHARS[randomInt(SALT_CHARS.length)];
  return s;
}

export interface SeedResult {
  departId: number;
  /** Names inserted by this run (already present ones are left alone). */
  created: string[];
}

interface IdRow extends RowDataPacket {
  id: number;
}
interface NameRow extends RowDataPacket {
  name: string;
}

/** Department "Demo" and users alice, bob, carol, dave (password "tiertalk"); re-running adds only what is missing. */
export async function seedDemo(conn: Connection | Pool): Promise<SeedResult> {
  const now = nowSec();
  const [deptRows] = await conn.query<IdRow[]>(
    'SELECT id FROM IMDepart WHERE departName = ? ORDER BY id LIMIT 1',
    [DEMO_DEPARTMENT],
  );
  let departId = deptRows[0]?.id;
  if (departId === undefined) {
    const [res] = await conn.query<ResultSetHeader>(
      'INSERT INTO IMDepart (departName, priority, parentId, status, created, updated) VALUES (?, 0, 0, 0, ?, ?)',
      [DEMO_DEPARTMENT, now, now],
    );
    departId = res.insertId;
  }

  const [present] = await conn.query<NameRow[]>('SELECT name FROM IMUser WHERE name IN (?)', [
    DEMO_USERS.map((u) => u.name),
  ]);
  const have = new Set(present.map((r) => r.name));
  const created: string[] = [];
  for (const u of DEMO_USERS) {
    if (have.has(u.name)) continue;
    const salt = randomSalt();
    await conn.query(
      'INSERT INTO IMUser (sex, name, domain, nick, password, salt, phone, email, avatar, departId, status, created, updated, push_shield_status, sign_info) ' +
        "VALUES (?, ?, ?, ?, ?, ?, '', ?, '', ?, 0, ?, ?, 0, '')",
      [u.sex, u.name, u.name, u.nick, storedPassword(DEMO_PASSWORD, salt), salt, `${u.name}@tiertalk.local`, departId, now, now],
    );
    created.push(u.name);
  }
  return { departId, created };
}
