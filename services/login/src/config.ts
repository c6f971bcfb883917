import { bool, commonConfigSchema, loadConfig, nonEmptyString, port, url } from '@tiertalk/config';

/** Every key the login service reads; defaults follow TeamTalk's loginserver.conf (flows.md, default ports). */
export const loginConfigSchema = commonConfigSchema.extend({
  TT_HTTP_HOST: nonEmptyString('0.0.0.0'),
  TT_HTTP_PORT: port(8080),
  // Returned verbatim as msfsPrior/msfsBackup and discovery (flows.md §1a).
  TT_MSFS_URL: url('http://127.0.0.1:8700/'),
  TT_DISCOVERY_URL: url('http://127.0.0.1/api/discovery'),
  // A separate switch, because port 0 already means "pick a free port" everywhere else.
  TT_LEGACY_TCP_ENABLED: bool(true),
  TT_LEGACY_TCP_PORT: port(8008),
});

export type LoginConfig = ReturnType<typeof loadLoginConfig>;

/** Throws ConfigError listing every bad key; main wraps it in exitOnConfigError. */
export function loadLoginConfig(env?: NodeJS.ProcessEnv) {
  return loadConfig(loginConfigSchema, { service: 'login', env });
}
