import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { UserRow } from './users';

/** An IMUser row with the columns the directory needs beyond the profile. */
export interface DirectoryRow extends UserRow {
  updated: number;
  push_shield_status: number;
}

const DIRECTORY_COLUMNS =
  'id, sex, name, domain, nick, password, salt, phone, email, avatar, departId, status, sign_info, updated, push_shield_status';

/** IMUser.status of a user who left the company: hidden from the full directory (docs/STORAGE.md §1.1). */
export const USER_STATUS_LEFT = 3;

interface ShieldRow extends RowDataPacket {
  id: number;
  push_shield_status: number;
}

/**
 * The user directory and profile changes on IMUser (docs/FLOWS.md §9, §11). Reads
 * go to the replica, writes to the master; every value is a bound parameter
 * (docs/FLOWS.md §9 Weakness: TeamTalk concatenated sign_info into its SQL).
 */
export class UserDirectory {
  constructor(
    private readonly replica: Pool,
    private readonly master: Pool,
  ) {}

  /** Users by id in id order; unknown ids are absent. Departed users are included (TeamTalk does). */
  async findByIds(ids: readonly number[]): Promise<DirectoryRow[]> {
    if (ids.length === 0) return [];
    // query() expands the array into an escaped IN list; execute() would
    // prepare one statement per list length.
    const [rows] = await this.replica.query<DirectoryRow[]>(
      `SELECT ${DIRECTORY_COLUMNS} FROM IMUser WHERE id IN (?) ORDER BY id`,
      [ids],
    );
    return rows;
  }

  /**
   * docs/FLOWS.md §9 IMAllUserReq: since 0 → every user who has not left;
   * otherwise every user with `updated >= since`, departed ones included so
   * clients learn departures. `>=`, as TeamTalk: a change in the same second
   * as the previous high-water mark is not missed.
   */
  async changedSince(since: number): Promise<DirectoryRow[]> {
    const [rows] =
      since === 0
        ? await this.replica.execute<DirectoryRow[]>(
            `SELECT ${DIRECTORY_COLUMNS} FROM IMUser WHERE status <> ? ORDER BY id`,
            [USER_STATUS_LEFT],
          )
        : await this.replica.execute<DirectoryRow[]>(
            `SELECT ${DIRECTORY_COLUMNS} FROM IMUser WHERE updated >= ? ORDER BY id`,
            [since],
          );
    return rows;
  }

  /** Sets sign_info and bumps `updated` (drives incremental sync). False when the user does not exist. */
  async updateSignInfo(userId: number, signInfo: string, now: number): Promise<boolean> {
    return this.setUserColumn(userId, 'sign_info', signInfo, now);
  }

  /** Sets avatar and bumps `updated`. False when the user does not exist. */
  async updateAvatar(userId: number, avatarUrl: string, now: number): Promise<boolean> {
    return this.setUserColumn(userId, 'avatar', avatarUrl, now);
  }

  /** Sets push_shield_status and bumps `updated`, as TeamTalk's updatePushShield. False when the user does not exist. */
  async updatePushShield(userId: number, shieldStatus: number, now: number): Promise<boolean> {
    return this.setUserColumn(userId, 'push_shield_status', shieldStatus, now);
  }

  /** One profile column of a user, with `updated` bumped; false when the user does not exist. */
  private async setUserColumn(userId: number, column: 'sign_info' | 'avatar' | 'push_shield_status', value: string | number, now: number): Promise<boolean> {
    // `column` is one of a fixed few, never client input.
    const [res] = await this.master.execute<ResultSetHeader>(`UPDATE IMUser SET ${column} = ?, updated = ? WHERE id = ?`, [value, now, userId]);
    return res.affectedRows > 0;
  }

  /** push_shield_status of one user; undefined when the user does not exist. Read from the master: a client reads back what it just set. */
  async pushShield(userId: number): Promise<number | undefined> {
    const [rows] = await this.master.execute<ShieldRow[]>('SELECT id, push_shield_status FROM IMUser WHERE id = ?', [userId]);
    return rows.length > 0 ? Number(rows[0].push_shield_status) : undefined;
  }

  /** Ids among `ids` whose push_shield_status is 1 (do not disturb on). */
  async shieldedAmong(ids: readonly number[]): Promise<Set<number>> {
    if (ids.length === 0) return new Set();
    const [rows] = await this.replica.query<ShieldRow[]>('SELECT id, push_shield_status FROM IMUser WHERE id IN (?) AND push_shield_status = 1', [
      ids,
    ]);
    return new Set(rows.map((r) => Number(r.id)));
  }
}
