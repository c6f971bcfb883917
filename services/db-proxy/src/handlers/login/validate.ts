import { clientAddressKey, type RefusalLog } from '@tiertalk/metrics';
import type { ValidateRsp } from '@tiertalk/proto';
import { IM } from '@tiertalk/proto';
import { toUserInfo } from '../../store/users';
import type { LoginAccountStore } from '../../store/login-accounts';
import type { LoginLimits, LoginLimitReason } from './login-limits';
import { MAX_SECRET_CHARS, normaliseLoginName } from './login-subjects';
import { HashCancelledError, HashQueueFullError, type IsCancelled } from './password-hasher';
import type { PasswordVerifier } from './password-verifier';

// IMValidateRsp result codes: TeamTalk's db_proxy_server answers 1 for a wrong
// user name or password and 6 once a name failed too often (docs/PROTOCOL.md §4);
// the gateway turns any non-zero code into REFUSE_REASON_DB_VALIDATE_FAILED
// and passes result_string on to the client.
export const VALIDATE_OK = 0;
export const VALIDATE_BAD_CREDENTIALS = 1;
export const VALIDATE_INTERNAL_ERROR = 2;
export const VALIDATE_TOO_MANY_FAILURES = 6;

const LOCKOUT_TEXT: Record<LoginLimitReason, string> = {
  login_rate_ip: 'too many login attempts from your address',
  login_locked_ip: 'too many failed logins from your address',
  login_locked_user_ip: 'too many failed logins for this user from your address',
};

/**
 * docs/FLOWS.md §2 validation: limits first (one atomic count in Redis), then the
 * account (MySQL master) and the password (argon2id, or TeamTalk's md5 rule
 * upgraded on success; password-verifier.ts).
 */
export class ValidateHandler {
  constructor(
    private readonly accounts: Pick<LoginAccountStore, 'findActiveByName'>,
    private readonly verifier: PasswordVerifier,
    private readonly limits: LoginLimits,
    private readonly refusals: RefusalLog,
  ) {}

  /** `isCancelled`: whether the caller gave up (gRPC deadline), so queued hash work can be skipped. */
  async validate(req: IM.Server.IMValidateReq.$Properties, isCancelled?: IsCancelled): Promise<ValidateRsp> {
    const reply = (resultCode: number, resultString: string, user?: IM.BaseDefine.UserInfo.$Properties): ValidateRsp =>
      IM.Server.IMValidateRsp.create({ userName: req.userName, resultCode, resultString, ...(user ? { userInfo: user } : {}) });
    const name = normaliseLoginName(req.userName);
    const ip = clientAddressKey(req.clientIp);
    const offender = ip ?? 'unknown-ip';

    const gate = await this.limits.attempt(name, ip);
    if (!gate.allowed) {
      this.refusals.refuse(gate.reason, offender, { userName: name ?? '(invalid)', retryAfterSec: gate.retryAfterSec });
      return reply(VALIDATE_TOO_MANY_FAILURES, `${LOCKOUT_TEXT[gate.reason]}; try again in ${minutes(gate.retryAfterSec)}`);
    }
    if (name === undefined) {
      this.refusals.refuse('login_bad_name', offender, { nameChars: req.userName.length });
      return reply(VALIDATE_BAD_CREDENTIALS, 'wrong user name or password');
    }

    const row = await this.accounts.findActiveByName(name);
    let ok: boolean;
    try {
      ok = req.password.length <= MAX_SECRET_CHARS && (await this.verifier.verify(row, name, req.password, isCancelled));
    } catch (err) {
      if (err instanceof HashCancelledError) return reply(VALIDATE_INTERNAL_ERROR, 'validation cancelled');
      if (!(err instanceof HashQueueFullError)) throw err;
      this.refusals.refuse('login_hash_busy', offender, { waiting: err.waiting });
      return reply(VALIDATE_INTERNAL_ERROR, 'server busy, try again');
    }
    if (!ok || row === undefined) {
      // Counted, and logged once per address per interval: a guessing flood must not become a log flood.
      this.refusals.refuse('login_bad_credentials', offender, { userName: name });
      return reply(VALIDATE_BAD_CREDENTIALS, 'wrong user name or password');
    }
    await this.limits.succeeded(name, ip);
    return reply(VALIDATE_OK, '', toUserInfo(row, { forceStatusZero: true }));
  }
}

function minutes(sec: number): string {
  return sec < 60 ? `${sec} s` : `${Math.ceil(sec / 60)} min`;
}
