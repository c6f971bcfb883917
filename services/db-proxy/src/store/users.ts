import type { Pool, RowDataPacket } from 'mysql2/promise';
import { IM } from '@tiertalk/proto';

export interface UserRow extends RowDataPacket {
  id: number;
  sex: number;
  name: string;
  domain: string;
  nick: string;
  password: string;
  salt: string;
  phone: string;
  email: string;
  avatar: string;
  departId: number;
  status: number;
  sign_info: string;
}

const USER_COLUMNS = 'id, sex, name, domain, nick, password, salt, phone, email, avatar, departId, status, sign_info';

/** Login reads: on the master, so a password or account just changed counts at the next login whatever a replica lags. */
export class UserStore {
  constructor(private readonly master: Pool) {}

  /**
   * The active account with this login name. `name` is not unique in TeamTalk's
   * schema and TeamTalk takes the last matching row, hence the highest id.
   */
  async findActiveByName(name: string): Promise<UserRow | undefined> {
    const [rows] = await this.master.execute<UserRow[]>(
      `SELECT ${USER_COLUMNS} FROM IMUser WHERE name = ? AND status = 0 ORDER BY id DESC LIMIT 1`,
      [name],
    );
    return rows[0];
  }
}

/** IMUser row → UserInfo (docs/PROTOCOL.md §3.1); the login name doubles as the real name. */
export function toUserInfo(row: UserRow, opts: { forceStatusZero: boolean }): IM.BaseDefine.UserInfo.$Properties {
  return {
    userId: row.id,
    userGender: row.sex,
    userNickName: row.nick ?? '',
    avatarUrl: row.avatar ?? '',
    departmentId: row.departId,
    email: row.email ?? '',
    userRealName: row.name ?? '',
    userTel: row.phone ?? '',
    userDomain: row.domain ?? '',
    status: opts.forceStatusZero ? 0 : row.status,
    signInfo: row.sign_info ?? '',
  };
}
