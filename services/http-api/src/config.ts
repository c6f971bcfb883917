import { z } from 'zod';
import { aesKey, commonConfigSchema, intRange, loadConfig, nonEmptyString, port, positiveInt } from '@tiertalk/config';
import { TEAMTALK_DEFAULT_AES_KEY } from '@tiertalk/proto';

const TOKEN_ERROR = 'expected a token of at least 32 characters (e.g. `openssl rand -hex 32`), or TT_HTTP_API_TOKEN_FILE naming a file that holds one';

export const httpApiConfigSchema = commonConfigSchema.extend({
  // Loopback by default: the token travels in clear unless a TLS proxy fronts the API.
  TT_HTTP_API_HOST: nonEmptyString('127.0.0.1'),
  TT_HTTP_API_PORT: port(8900),
  // Required in every mode (no development default): without it the service refuses to start.
  TT_HTTP_API_TOKEN: z.string({ error: TOKEN_ERROR }).trim().min(32, { error: TOKEN_ERROR }),
  TT_HTTP_API_MAX_BODY_BYTES: positiveInt(65536),
  // Requests per second per client address (every request, before the token check), then 429.
  TT_HTTP_API_RATE_PER_SEC: intRange(1, 1_000_000, 50),
  // The IMUser row system messages are sent from (docs/HTTP-API.md "The system sender"); migration 0011 creates `system`.
  TT_HTTP_API_SYSTEM_USER: nonEmptyString('system'),
  // Message text is encrypted as TeamTalk clients do (docs/PROTOCOL.md §5), with the key every client of the cluster uses.
  TT_AES_KEY: aesKey(TEAMTALK_DEFAULT_AES_KEY),
  TT_DB_DEADLINE_MS: positiveInt(5000),
  TT_ROUTE_DEADLINE_MS: positiveInt(5000),
  // As on the gateway: how long a message is retried on db-proxy before the caller gets 503, and the batch size of the store stream.
  TT_STORE_DEADLINE_MS: positiveInt(10_000),
  TT_STORE_BATCH_MAX: positiveInt(256),
});

export type HttpApiConfig = ReturnType<typeof loadHttpApiConfig>;

/** Throws ConfigError listing every bad key; `env` is for tests. */
export function loadHttpApiConfig(env?: NodeJS.ProcessEnv) {
  return loadConfig(httpApiConfigSchema, { service: 'http-api', env });
}
