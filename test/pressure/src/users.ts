// --create-users: the bench accounts straight into IMUser, with TeamTalk's
// password rule (docs/STORAGE.md §1.1): password = md5hex(md5hex(plain) + salt),
// status 0. Parameterised SQL only.
import { randomInt } from 'node:crypto';
import { md5hex } from '@tiertalk/client';
import { createConnection, type Connection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';

const BENCH_DEPARTMENT = 'Bench';
const SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const INSERT_BATCH = 500;

export interface EnsureUsersResult {
  created: number;
  existing: number;
}

interface UserRow extends RowDataPacket {
  name: string;
  password: string;
  salt: string;
}
interface IdRow extends RowDataPacket {
  id: number;
}

export function storedPassword(plain: string, salt: string): string {
  return md5hex(md5hex(plain) + salt);
}

function randomSalt(): string {
  let s = '';
  for (let i = 0; i < 4; i += 1) s += SALT_CHARS[randomInt(SALT_CHARS.length)];
  return s;
}

async function benchDepartment(conn: Connection, now: number): Promise<number> {
  const [rows] = await conn.query<IdRow[]>('SELECT id FROM IMDepart WHERE departName = ? ORDER BY id LIMIT 1', [BENCH_DEPARTMENT]);
  const id = rows[0]?.id;
  if (id !== undefined) return id;
  const [res] = await conn.query<ResultSetHeader>(
    'INSERT INTO IMDepart (departName, priority, parentId, status, created, updated) VALUES (?, 0, 0, 0, ?, ?)',
    [BENCH_DEPARTMENT, now, now],
  );
  return res.insertId;
}

/**
 * Inserts the users of `names` that are missing. Existing active users whose
 * password differs would fail to log in, so that is an error here, not later.
 */
export async function ensureUsers(mysqlUrl: string, names: readonly string[], password: string): Promise<EnsureUsersResult> {
  const conn = await createConnection(mysqlUrl);
  try {
    const [rows] = await conn.query<UserRow[]>('SELECT name, password, salt FROM IMUser WHERE status = 0 AND name IN (?)', [names]);
    const have = new Set<string>();
    const wrong: string[] = [];
    for (const r of rows) {
      have.add(r.name);
      if (storedPassword(password, r.salt) !== r.password) wrong.push(r.name);
    }
    if (wrong.length > 0) {
      throw new Error(`${wrong.length} existing user(s) have another password (${wrong.slice(0, 5).join(', ')}${wrong.length > 5 ? ', ...' : ''}); pass their --password or another --users-prefix`);
    }
    const missing = names.filter((n) => !have.has(n));
    if (missing.length > 0) {
      const now = Math.floor(Date.now() / 1000);
      const departId = await benchDepartment(conn, now);
      for (let i = 0; i < missing.length; i += INSERT_BATCH) {
        const values = missing.slice(i, i + INSERT_BATCH).map((name) => {
          const salt = randomSalt();
          return [0, name, name, name, storedPassword(password, salt), salt, '', `${name}@bench.local`, '', departId, 0, now, now, 0, ''];
        });
        await conn.query(
          'INSERT INTO IMUser (sex, name, domain, nick, password, salt, phone, email, avatar, departId, status, created, updated, push_shield_status, sign_info) VALUES ?',
          [values],
        );
      }
    }
    return { created: missing.length, existing: have.size };
  } finally {
    await conn.end();
  }
}
