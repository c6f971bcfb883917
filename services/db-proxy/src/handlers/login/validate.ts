import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from '@tiertalk/log';
import type { ValidateReq, ValidateRsp } from '@tiertalk/proto';
import { IM } from '@tiertalk/proto';
import type Redis from 'ioredis';
import type { MysqlPools } from '../../store/mysql';
import { toUserInfo, UserStore } from '../../store/users';
import { LoginFailures } from './login-failures';

// IMValidateRsp result codes (protocol.md §4).
export const VALIDATE_OK = 0;
export const VALIDATE_BAD_CREDENTIALS = 1;
export const VALIDATE_INTERNAL_ERROR = 2;
export const VALIDATE_TOO_MANY_FAILURES = 6;

// IMUser.name is varchar(32); longer names cannot exist, so skip the query.
const MAX_NAME_LENGTH = 32;

/** TeamTalk's password rule (flows.md §2): stored = md5hex(client-sent value + salt). */
export function passwordMatches(sent: string, salt: string, stored: string): boolean {
  const digest = Buffer.from(createHash('md5').update(sent + salt, 'utf8').digest('hex'), 'utf8');
  const expected = Buffer.from(stored, 'utf8');
  return digest.length === expected.length && timingSafeEqual(digest, expected);
}

export class ValidateHandler {
  constructor(
    private readonly users: UserStore,
    private readonly failures: LoginFailures,
    private readonly log: Logger,
  ) {}

  async validate(req: ValidateReq): Promise<ValidateRsp> {
    const name = req.userName;
    const now = Math.floor(Date.now() / 1000);
    const reply = (resultCode: number, resultString: string, user?: IM.BaseDefine.UserInfo.$Properties): ValidateRsp =>
      IM.Server.IMValidateRsp.create({ userName: name, resultCode, resultString, ...(user ? { userInfo: user } : {}) });

    if (await this.failures.isLocked(name, now)) {
      this.log.warn({ userName: name }, 'login refused: too many failed attempts');
      return reply(VALIDATE_TOO_MANY_FAILURES, 'too many wrong user name/password attempts');
    }
    const row = name.length > 0 && name.length <= MAX_NAME_LENGTH ? await this.users.findActiveByName(name) : undefined;
    if (row === undefined || !passwordMatches(req.password, row.salt ?? '', row.password ?? '')) {
      await this.failures.recordFailure(name, now);
      this.log.info({ userName: name, known: row !== undefined }, 'login refused: bad user name or password');
      return reply(VALIDATE_BAD_CREDENTIALS, 'wrong user name or password');
    }
    await this.failures.clear(name);
    return reply(VALIDATE_OK, '', toUserInfo(row, { forceStatusZero: true }));
  }
}

/** Validate as db-proxy runs it: the password check reads the MySQL master, never a replica. */
export function createValidateHandler(
  mysql: Pick<MysqlPools, 'master'>,
  tokenRedis: Redis,
  opts: { failLimit: number; failWindowSec: number },
  log: Logger,
): ValidateHandler {
  return new ValidateHandler(new UserStore(mysql.master), new LoginFailures(tokenRedis, opts.failLimit, opts.failWindowSec), log);
}
