// What of a configuration may be shown (start-up log, error messages): secrets
// are replaced, and passwords inside URLs (mysql://user:pass@host) are hidden.

const MASK = '***';
// TT_AES_KEY, TT_MYSQL_PASSWORD, TT_ADMIN_TOKEN, aesKey...; not TT_REDIS_TOKEN_URL (a URL: its password is hidden below).
const SECRET_NAME = /(password|passwd|secret|token|key)$/i;

/** True for a setting whose whole value is a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Replaces the password of every `scheme://user:password@host` in a string. */
export function maskUrlPasswords(text: string): string {
  // The authority runs from `//` to the next `/`, `?`, `#` or blank; the user info ends at its last `@`.
  return text.replace(/\/\/([^/?#\s]*)@/g, (whole, userInfo: string) => {
    const colon = userInfo.indexOf(':');
    return colon < 0 ? whole : `//${userInfo.slice(0, colon + 1)}${MASK}@`;
  });
}

/** One setting's value as it may be shown. */
export function maskValue(name: string, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (isSecretName(name)) return MASK;
  return maskNested(value);
}

function maskNested(value: unknown): unknown {
  if (typeof value === 'string') return maskUrlPasswords(value);
  if (Array.isArray(value)) return value.map(maskNested);
  if (typeof value === 'object' && value !== null) return maskConfig(value);
  return value;
}

/** A copy of a configuration (or any object of settings) safe to log. */
export function maskConfig(config: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) out[k] = maskValue(k, v);
  return out;
}

/** Anything with pino's `info`/`warn`; structural so this library does not depend on the logger. */
export interface ConfigLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Logs the effective configuration at start-up, secrets masked; development mode is a warning. */
export function logConfig(log: ConfigLogger, config: object): void {
  log.info({ config: maskConfig(config) }, 'configuration');
  if ((config as { TT_ENV?: unknown }).TT_ENV === 'development') {
    log.warn({ env: 'development' }, 'TT_ENV=development: built-in development secrets are accepted; never run production like this');
  }
}
