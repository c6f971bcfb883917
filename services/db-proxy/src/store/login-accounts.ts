import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import DataLoader from 'dataloader';
import type { UserRow } from './users';

/** Names looked up in one query at most (a ValidateStream batch is at most 256 logins). */
const MAX_NAMES_PER_QUERY = 256;

/** An IMUser row with its argon2id side row (migration 0010), if any. */
export interface LoginAccountRow extends UserRow {
  argon2Hash: string | null;
  legacyPassword: string | null;
  legacySalt: string | null;
}

const ACCOUNT_COLUMNS =
  'u.id, u.sex, u.name, u.domain, u.nick, u.password, u.salt, u.phone, u.email, u.avatar, u.departId, u.status, u.sign_info, ' +
  'h.hash AS argon2Hash, h.legacyPassword, h.legacySalt';

/**
 * Login's view of IMUser and IMUserPasswordHash, always on the master: a
 * password just changed counts at the next login whatever a replica lags.
 */
export class LoginAccountStore {
  /** The lookups of one event-loop turn (a ValidateStream batch's logins), in one query. */
  private readonly byName: DataLoader<string, LoginAccountRow | undefined>;

  constructor(private readonly master: Pool) {
    this.byName = new DataLoader((names) => this.findManyByName(names), { cache: false, maxBatchSize: MAX_NAMES_PER_QUERY });
  }

  /**
   * The active account with this login name and its argon2id row. `name` is
   * not unique in TeamTalk's schema and TeamTalk takes the last matching row,
   * hence the highest id. Lookups made in the same turn share one round trip.
   */
  findActiveByName(name: string): Promise<LoginAccountRow | undefined> {
    return this.byName.load(name);
  }

  /**
   * One SELECT per name, joined with UNION ALL and tagged with the name's
   * position: each name is compared by MariaDB itself (IMUser.name's
   * collation: case, accents, trailing spaces), exactly as a query of its own.
   */
  private async findManyByName(names: readonly string[]): Promise<Array<LoginAccountRow | undefined>> {
    const one =
      `(SELECT ? AS lookupIndex, ${ACCOUNT_COLUMNS} FROM IMUser u LEFT JOIN IMUserPasswordHash h ON h.userId = u.id ` +
      'WHERE u.name = ? AND u.status = 0 ORDER BY u.id DESC LIMIT 1)';
    const [rows] = await this.master.query<Array<LoginAccountRow & { lookupIndex: number }>>(
      names.map(() => one).join(' UNION ALL '),
      names.flatMap((name, i) => [i, name]),
    );
    const found: Array<LoginAccountRow | undefined> = names.map(() => undefined);
    for (const { lookupIndex, ...row } of rows) found[Number(lookupIndex)] = row;
    return found;
  }

  /** Stores the argon2id hash made from (or written with) this IMUser.password/salt. */
  async saveHash(userId: number, hash: string, legacyPassword: string, legacySalt: string, nowSec: number): Promise<void> {
    await this.master.execute<ResultSetHeader>(
      'INSERT INTO IMUserPasswordHash (userId, hash, legacyPassword, legacySalt, updated) VALUES (?, ?, ?, ?, ?) ' +
        'ON DUPLICATE KEY UPDATE hash = VALUES(hash), legacyPassword = VALUES(legacyPassword), legacySalt = VALUES(legacySalt), updated = VALUES(updated)',
      [userId, hash, legacyPassword, legacySalt, nowSec],
    );
  }

  /**
   * Sets a password as an administrator: argon2id only. IMUser.password gets a
   * random value no password hashes to (so neither TierTalk's legacy path nor
   * a TeamTalk server accepts the old password), recorded in the side row so
   * the argon2id hash stays the current one. One transaction: a half-done
   * change would leave the old password valid.
   */
  async setPassword(userId: number, hash: string, unusableLegacy: { password: string; salt: string }, nowSec: number): Promise<boolean> {
    const conn = await this.master.getConnection();
    try {
      await conn.beginTransaction();
      const [res] = await conn.execute<ResultSetHeader>('UPDATE IMUser SET password = ?, salt = ?, updated = ? WHERE id = ?', [
        unusableLegacy.password,
        unusableLegacy.salt,
        nowSec,
        userId,
      ]);
      if (res.affectedRows === 0) {
        await conn.rollback();
        return false;
      }
      await conn.execute<ResultSetHeader>(
        'INSERT INTO IMUserPasswordHash (userId, hash, legacyPassword, legacySalt, updated) VALUES (?, ?, ?, ?, ?) ' +
          'ON DUPLICATE KEY UPDATE hash = VALUES(hash), legacyPassword = VALUES(legacyPassword), legacySalt = VALUES(legacySalt), updated = VALUES(updated)',
        [userId, hash, unusableLegacy.password, unusableLegacy.salt, nowSec],
      );
      await conn.commit();
      return true;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  async userIdByName(name: string): Promise<number | undefined> {
    const [rows] = await this.master.execute<(RowDataPacket & { id: number })[]>(
      'SELECT id FROM IMUser WHERE name = ? AND status = 0 ORDER BY id DESC LIMIT 1',
      [name],
    );
    return rows[0]?.id;
  }
}
