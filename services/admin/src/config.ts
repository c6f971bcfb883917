import { z } from 'zod';
import { commonConfigSchema, loadConfig, nonEmptyString, port, positiveInt } from '@tiertalk/config';

const TOKEN_ERROR = 'expected a token of at least 32 characters (e.g. `openssl rand -hex 32`), or TT_ADMIN_TOKEN_FILE naming a file that holds one';

/** What the CLI and the HTTP service need to reach the cluster (cluster-link.ts). */
const linkKeys = {
  TT_DB_DEADLINE_MS: positiveInt(5000),
  TT_ROUTE_DEADLINE_MS: positiveInt(5000),
};

export const adminCliConfigSchema = commonConfigSchema
  .pick({
    TT_ETCD_ENDPOINTS: true,
    TT_ETCD_PREFIX: true,
    TT_TLS_CA: true,
    TT_TLS_CERT: true,
    TT_TLS_KEY: true,
    TT_GRPC_INSECURE: true,
    TT_ETCD_CA: true,
    TT_ETCD_CERT: true,
    TT_ETCD_KEY: true,
    TT_ETCD_USERNAME: true,
    TT_ETCD_PASSWORD: true,
  })
  .extend({ ...linkKeys, TT_LOG_LEVEL: commonConfigSchema.shape.TT_LOG_LEVEL.unwrap().default('error') });

export const adminHttpConfigSchema = commonConfigSchema.extend({
  ...linkKeys,
  // Loopback by default: the token travels in clear unless a TLS proxy fronts the API.
  TT_ADMIN_HTTP_HOST: nonEmptyString('127.0.0.1'),
  TT_ADMIN_HTTP_PORT: port(8600),
  // Required in every mode (no development default): without it the service refuses to start.
  TT_ADMIN_TOKEN: z.string({ error: TOKEN_ERROR }).trim().min(32, { error: TOKEN_ERROR }),
  TT_ADMIN_MAX_BODY_BYTES: positiveInt(65536),
});

export type AdminCliConfig = ReturnType<typeof loadAdminCliConfig>;
export type AdminHttpConfig = ReturnType<typeof loadAdminHttpConfig>;

/** Throws ConfigError listing every bad key. */
export function loadAdminCliConfig(env?: NodeJS.ProcessEnv) {
  return loadConfig(adminCliConfigSchema, { service: 'admin-cli', env });
}

/** Throws ConfigError listing every bad key; `env` is for tests. */
export function loadAdminHttpConfig(env?: NodeJS.ProcessEnv) {
  return loadConfig(adminHttpConfigSchema, { service: 'admin', env });
}
