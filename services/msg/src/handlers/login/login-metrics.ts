import { Counter, metricsRegistry } from '@tiertalk/metrics';

/**
 * How a client's IMLoginReq ended on this gateway: ok; wrong_password (wrong
 * name or password); locked (lockout or login rate limit); error (db-proxy or
 * route unreachable or failing); abandoned (the client left mid-login).
 */
export type LoginResult = 'ok' | 'wrong_password' | 'locked' | 'error' | 'abandoned';

const logins = new Counter({
  name: 'tt_msg_logins_total',
  help: 'Client logins on this gateway by result: ok, wrong_password, locked, error, abandoned',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
});
for (const result of ['ok', 'wrong_password', 'locked', 'error', 'abandoned'] satisfies LoginResult[]) logins.inc({ result }, 0);

// db-proxy's IMValidateRsp result codes (services/db-proxy/src/handlers/login/validate.ts, TeamTalk's 1 and 6).
const VALIDATE_BAD_CREDENTIALS = 1;
const VALIDATE_TOO_MANY_FAILURES = 6;

/** The result of a login db-proxy refused, from its validate result code. */
export function refusedLoginResult(validateCode: number): LoginResult {
  if (validateCode === VALIDATE_BAD_CREDENTIALS) return 'wrong_password';
  if (validateCode === VALIDATE_TOO_MANY_FAILURES) return 'locked';
  return 'error';
}

export function countLogin(result: LoginResult): void {
  logins.inc({ result });
}
