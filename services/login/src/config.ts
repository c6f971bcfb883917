import { ConfigError, bool, commonConfigSchema, intRange, loadConfig, nonEmptyString, port, positiveInt, url } from '@tiertalk/config';

/** Every key the login service reads; defaults follow TeamTalk's loginserver.conf (docs/FLOWS.md §0, default ports). */
export const loginConfigSchema = commonConfigSchema.extend({
  TT_HTTP_HOST: nonEmptyString('0.0.0.0'),
  TT_HTTP_PORT: port(8080),
  // Set: returned verbatim as msfsPrior/msfsBackup; unset: live msfs instances from etcd (docs/MSFS.md).
  TT_MSFS_URL: url().optional(),
  // Returned verbatim as discovery (docs/FLOWS.md §1a).
  TT_DISCOVERY_URL: url('http://127.0.0.1/api/discovery'),
  // A separate switch, because port 0 already means "pick a free port" everywhere else.
  TT_LEGACY_TCP_ENABLED: bool(true),
  TT_LEGACY_TCP_PORT: port(8008),
  // With both set, TT_HTTP_PORT serves HTTPS only (docs/SECURITY.md "TLS to clients").
  TT_CLIENT_TLS_CERT: nonEmptyString().optional(),
  TT_CLIENT_TLS_KEY: nonEmptyString().optional(),
  TT_TLS_HANDSHAKE_TIMEOUT_MS: positiveInt(10_000),
  TT_CLIENT_TLS_POLL_MS: intRange(0, 3_600_000, 5_000),
  // The browser chat client (docs/WEB-CLIENT.md) on a port of its own; off by default
  // because it needs the built web/dist next to the service (make up turns it on).
  TT_WEB_ENABLED: bool(false),
  TT_WEB_PORT: port(8090),
  TT_WEB_DIR: nonEmptyString().optional(),
});

export type LoginConfig = ReturnType<typeof loadLoginConfig>;

/** Throws ConfigError listing every bad key; main wraps it in exitOnConfigError. */
export function loadLoginConfig(env?: NodeJS.ProcessEnv) {
  const c = loadConfig(loginConfigSchema, { service: 'login', env });
  if ((c.TT_CLIENT_TLS_CERT === undefined) !== (c.TT_CLIENT_TLS_KEY === undefined)) {
    const key = c.TT_CLIENT_TLS_CERT === undefined ? 'TT_CLIENT_TLS_CERT' : 'TT_CLIENT_TLS_KEY';
    throw new ConfigError('login', [{ key, message: 'expected together with the other of TT_CLIENT_TLS_CERT / TT_CLIENT_TLS_KEY', value: undefined }]);
  }
  return c;
}
