import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { CatalogueError } from '@tiertalk/rpc';

/** IMUser.status values the administration writes (storage.md §1.1): 0 may log in, 3 "left" (disabled). */
export const USER_STATUS_ACTIVE = 0;
export const USER_STATUS_DISABLED = 3;
/** IMDepart.status 0: in use (1 = deleted, DepartmentStatusType). */
const DEPART_STATUS_OK = 0;

export interface AdminUserRow extends RowDataPacket {
  id: number;
  name: string;
  nick: string;
  sex: number;
  departId: number;
  status: number;
  email: string;
  phone: string;
  avatar: string | null;
  domain: string;
  created: number;
  updated: number;
  argon2: number;
}

export interface AdminDepartRow extends RowDataPacket {
  id: number;
  departName: string;
  parentId: number;
  priority: number;
  status: number;
  created: number;
  updated: number;
  users: number;
}

const ADMIN_REFUSAL_CODE = { invalid: 'request_invalid', not_found: 'not_found', exists: 'already_exists' } as const;

/** Why an administrative change was refused; nothing was written. Answered with its catalogue code. */
export class AdminRefusal extends CatalogueError {
  constructor(
    readonly kind: keyof typeof ADMIN_REFUSAL_CODE,
    message: string,
  ) {
    super(ADMIN_REFUSAL_CODE[kind], message);
  }
}

export type UserRef = { userId: number } | { name: string };

export interface NewUser {
  name: string;
  nick: string;
  sex: number;
  departId: number;
  email: string;
  phone: string;
  avatar: string;
  domain: string;
}

/** An argon2id hash and the IMUser.password/salt no password matches (docs/SECURITY.md "Passwords"). */
export interface PasswordRecord {
  hash: string;
  unusableLegacy: { password: string; salt: string };
}

const USER_COLUMNS =
  'u.id, u.name, u.nick, u.sex, u.departId, u.status, u.email, u.phone, u.avatar, u.domain, u.created, u.updated, (h.userId IS NOT NULL) AS argon2';
const USER_FROM = 'IMUser u LEFT JOIN IMUserPasswordHash h ON h.userId = u.id';
const DEPART_COLUMNS = 'd.id, d.departName, d.parentId, d.priority, d.status, d.created, d.updated, (SELECT COUNT(*) FROM IMUser x WHERE x.departId = d.id) AS users';

const ER_LOCK_DEADLOCK = 1213;
const TX_ATTEMPTS = 3;

function isDeadlock(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'errno' in err && Number(err.errno) === ER_LOCK_DEADLOCK;
}

function describeRef(ref: UserRef): string {
  return 'userId' in ref ? `user ${ref.userId}` : `user named ${JSON.stringify(ref.name)}`;
}

/**
 * The operator's changes to IMUser, IMUserPasswordHash and IMDepart, always on
 * the master. Each change checks its preconditions inside its own transaction
 * under row locks (a name check locks the name's index range, so two creates
 * of one name cannot both pass) and either commits all of it or nothing.
 */
export class AdminDirectory {
  constructor(private readonly master: Pool) {}

  async getUser(ref: UserRef): Promise<AdminUserRow> {
    const row = await this.findUser(this.master, ref, false);
    if (!row) throw new AdminRefusal('not_found', `no ${describeRef(ref)}`);
    return row;
  }

  async listUsers(departId: number, includeDisabled: boolean): Promise<AdminUserRow[]> {
    const where: string[] = [];
    const args: number[] = [];
    if (departId > 0) {
      where.push('u.departId = ?');
      args.push(departId);
    }
    if (!includeDisabled) {
      where.push('u.status = ?');
      args.push(USER_STATUS_ACTIVE);
    }
    const [rows] = await this.master.execute<AdminUserRow[]>(
      `SELECT ${USER_COLUMNS} FROM ${USER_FROM}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY u.id`,
      args,
    );
    return rows;
  }

  async createUser(user: NewUser, password: PasswordRecord, nowSec: number): Promise<AdminUserRow> {
    const id = await this.transaction(async (conn) => {
      // Any row with the name counts, disabled ones too: TeamTalk logs in the highest id of a name.
      const [same] = await conn.execute<RowDataPacket[]>('SELECT id FROM IMUser WHERE name = ? FOR UPDATE', [user.name]);
      if (same.length > 0) throw new AdminRefusal('exists', `a user named ${JSON.stringify(user.name)} exists (user ${String(same[0].id)})`);
      await this.requireDepart(conn, user.departId);
      const [res] = await conn.execute<ResultSetHeader>(
        'INSERT INTO IMUser (sex, name, domain, nick, password, salt, phone, email, avatar, departId, status, created, updated, push_shield_status, sign_info) ' +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '')",
        [
          user.sex,
          user.name,
          user.domain,
          user.nick,
          password.unusableLegacy.password,
          password.unusableLegacy.salt,
          user.phone,
          user.email,
          user.avatar,
          user.departId,
          USER_STATUS_ACTIVE,
          nowSec,
          nowSec,
        ],
      );
      await this.writeHash(conn, res.insertId, password, nowSec);
      return res.insertId;
    });
    return this.getUser({ userId: id });
  }

  /** argon2id only; IMUser.password gets a value no password matches, so the old password stops working everywhere. */
  async setPassword(ref: UserRef, password: PasswordRecord, nowSec: number): Promise<AdminUserRow> {
    const id = await this.transaction(async (conn) => {
      const row = await this.lockedUser(conn, ref);
      await conn.execute('UPDATE IMUser SET password = ?, salt = ?, updated = ? WHERE id = ?', [
        password.unusableLegacy.password,
        password.unusableLegacy.salt,
        nowSec,
        row.id,
      ]);
      await this.writeHash(conn, row.id, password, nowSec);
      return row.id;
    });
    return this.getUser({ userId: id });
  }

  /** `updated` moves so clients' incremental directory sync (IMAllUserReq) learns the change. */
  async setStatus(ref: UserRef, status: number, nowSec: number): Promise<AdminUserRow> {
    const id = await this.transaction(async (conn) => {
      const row = await this.lockedUser(conn, ref);
      if (row.status !== status) await conn.execute('UPDATE IMUser SET status = ?, updated = ? WHERE id = ?', [status, nowSec, row.id]);
      return row.id;
    });
    return this.getUser({ userId: id });
  }

  async moveUser(ref: UserRef, departId: number, nowSec: number): Promise<AdminUserRow> {
    const id = await this.transaction(async (conn) => {
      const row = await this.lockedUser(conn, ref);
      await this.requireDepart(conn, departId);
      if (row.departId !== departId) await conn.execute('UPDATE IMUser SET departId = ?, updated = ? WHERE id = ?', [departId, nowSec, row.id]);
      return row.id;
    });
    return this.getUser({ userId: id });
  }

  async listDeparts(): Promise<AdminDepartRow[]> {
    const [rows] = await this.master.execute<AdminDepartRow[]>(`SELECT ${DEPART_COLUMNS} FROM IMDepart d ORDER BY d.id`);
    return rows;
  }

  async createDepart(name: string, parentId: number, priority: number, nowSec: number): Promise<AdminDepartRow> {
    const id = await this.transaction(async (conn) => {
      await this.requireFreeDepartName(conn, name, 0);
      if (parentId !== 0) await this.requireDepart(conn, parentId);
      const [res] = await conn.execute<ResultSetHeader>(
        'INSERT INTO IMDepart (departName, priority, parentId, status, created, updated) VALUES (?, ?, ?, ?, ?, ?)',
        [name, priority, parentId, DEPART_STATUS_OK, nowSec, nowSec],
      );
      return res.insertId;
    });
    return this.getDepart(id);
  }

  /** `updated` moves so clients' department sync (IMDepartmentReq, `updated > t`) learns the name. */
  async renameDepart(departId: number, name: string, nowSec: number): Promise<AdminDepartRow> {
    await this.transaction(async (conn) => {
      await this.requireDepart(conn, departId, true);
      await this.requireFreeDepartName(conn, name, departId);
      await conn.execute('UPDATE IMDepart SET departName = ?, updated = ? WHERE id = ?', [name, nowSec, departId]);
    });
    return this.getDepart(departId);
  }

  private async getDepart(id: number): Promise<AdminDepartRow> {
    const [rows] = await this.master.execute<AdminDepartRow[]>(`SELECT ${DEPART_COLUMNS} FROM IMDepart d WHERE d.id = ?`, [id]);
    if (!rows[0]) throw new AdminRefusal('not_found', `no department ${id}`);
    return rows[0];
  }

  private async findUser(db: Pool | PoolConnection, ref: UserRef, lock: boolean): Promise<AdminUserRow | undefined> {
    const suffix = lock ? ' FOR UPDATE' : '';
    // A name: the row TeamTalk would log in (the highest id of that name).
    const [rows] =
      'userId' in ref
        ? await db.execute<AdminUserRow[]>(`SELECT ${USER_COLUMNS} FROM ${USER_FROM} WHERE u.id = ?${suffix}`, [ref.userId])
        : await db.execute<AdminUserRow[]>(`SELECT ${USER_COLUMNS} FROM ${USER_FROM} WHERE u.name = ? ORDER BY u.id DESC LIMIT 1${suffix}`, [ref.name]);
    return rows[0];
  }

  private async lockedUser(conn: PoolConnection, ref: UserRef): Promise<AdminUserRow> {
    const row = await this.findUser(conn, ref, true);
    if (!row) throw new AdminRefusal('not_found', `no ${describeRef(ref)}`);
    return row;
  }

  /** The department exists and is not deleted; locked (shared) until the change commits. */
  private async requireDepart(conn: PoolConnection, departId: number, forUpdate = false): Promise<void> {
    const [rows] = await conn.execute<RowDataPacket[]>(`SELECT id FROM IMDepart WHERE id = ? AND status = ? ${forUpdate ? 'FOR UPDATE' : 'LOCK IN SHARE MODE'}`, [
      departId,
      DEPART_STATUS_OK,
    ]);
    if (rows.length === 0) throw new AdminRefusal('not_found', `no department ${departId}`);
  }

  private async requireFreeDepartName(conn: PoolConnection, name: string, exceptId: number): Promise<void> {
    const [rows] = await conn.execute<RowDataPacket[]>('SELECT id FROM IMDepart WHERE departName = ? AND status = ? FOR UPDATE', [name, DEPART_STATUS_OK]);
    const other = rows.find((r) => Number(r.id) !== exceptId);
    if (other) throw new AdminRefusal('exists', `a department named ${JSON.stringify(name)} exists (department ${String(other.id)})`);
  }

  private async writeHash(conn: PoolConnection, userId: number, password: PasswordRecord, nowSec: number): Promise<void> {
    await conn.execute(
      'INSERT INTO IMUserPasswordHash (userId, hash, legacyPassword, legacySalt, updated) VALUES (?, ?, ?, ?, ?) ' +
        'ON DUPLICATE KEY UPDATE hash = VALUES(hash), legacyPassword = VALUES(legacyPassword), legacySalt = VALUES(legacySalt), updated = VALUES(updated)',
      [userId, password.hash, password.unusableLegacy.password, password.unusableLegacy.salt, nowSec],
    );
  }

  /** One transaction; run again when InnoDB picked it as a deadlock victim (two creates of one name). */
  private async transaction<T>(work: (conn: PoolConnection) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const conn = await this.master.getConnection();
      try {
        await conn.beginTransaction();
        const out = await work(conn);
        await conn.commit();
        return out;
      } catch (err) {
        await conn.rollback().catch(() => undefined);
        if (!isDeadlock(err) || attempt >= TX_ATTEMPTS) throw err;
      } finally {
        conn.release();
      }
    }
  }
}
