import { z } from 'zod';
import { bool, commonConfigSchema, intRange, loadConfig, nonEmptyString, optionalAesKey, port, positiveInt, redisUrl, secret, url } from '@tiertalk/config';
import { TEAMTALK_DEFAULT_AES_KEY } from '@tiertalk/proto';

// An unset or empty value means "none".
const blankAsUnset = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const HTTP_URL_ERROR = 'expected an http:// or https:// URL';

export const routeConfigSchema = commonConfigSchema.extend({
  TT_GRPC_PORT: port(8200),
  // Development default only (TT_ENV=development); production sets it.
  TT_SESSION_REDIS_URL: secret(redisUrl(), { devDefault: 'redis://127.0.0.1:6379/3' }),
  // docs/ARCHITECTURE.md, session registry: keys tt:sm:user:<id>, tt:sm:gw:<id>, tt:sm:gateways
  TT_SESSION_KEY_PREFIX: nonEmptyString('tt:sm:'),
  TT_SWEEP_INTERVAL_MS: positiveInt(10000),
  // docs/FLOWS.md §5: desktop presence changes are gathered this long into one push per gateway
  // (a user's latest status only); 0 sends each change at once.
  TT_PRESENCE_COALESCE_MS: intRange(0, 1000, 50),
  // The gateways' keep-alive sync period (msg's TT_SESSION_SYNC_INTERVAL_MS, same value): a
  // gateway not seen for 3 of them has its sessions purged.
  TT_SESSION_SYNC_INTERVAL_MS: positiveInt(30000),
  // After a registry loss, deliveries wait at most this long for the gateways' resync.
  TT_RESYNC_MAX_WAIT_MS: positiveInt(5000),
  // Readiness (docs/HEALTH.md): how often MySQL/Redis are pinged; a ping unanswered within it fails the check.
  TT_HEALTH_INTERVAL_MS: intRange(100, 60000, 2000),
  // Offline push (src/push, docs/FLOWS.md §4 step 4.6): a JSON POST per 1:1 message whose receiver is offline.
  TT_PUSH_WEBHOOK_URL: z.preprocess(
    blankAsUnset,
    z
      .string({ error: HTTP_URL_ERROR })
      .trim()
      .refine((s) => URL.canParse(s) && ['http:', 'https:'].includes(new URL(s).protocol), { error: HTTP_URL_ERROR })
      .optional(),
  ),
  TT_PUSH_QUEUE_MAX: positiveInt(10000),
  TT_PUSH_MAX_ATTEMPTS: intRange(1, 20, 5),
  TT_PUSH_RETRY_BASE_MS: intRange(1, 60000, 500),
  TT_PUSH_RETRY_MAX_MS: intRange(1, 600000, 30000),
  TT_PUSH_TIMEOUT_MS: intRange(100, 60000, 5000),
  TT_PUSH_CONCURRENCY: intRange(1, 256, 8),
  // The durable offline-push queue: a Redis Stream in TT_SESSION_REDIS_URL shared by every route instance.
  TT_PUSH_STREAM_KEY: nonEmptyString('tt:push:offline'),
  // A queued push its route instance stopped working on (killed) is taken over by another after this long.
  TT_PUSH_CLAIM_IDLE_MS: intRange(100, 600000, 15000),
  // The push service (services/push): push requests unanswered at once; more are shed and counted.
  TT_PUSH_SERVICE_QUEUE_MAX: positiveInt(10000),
  // How long a push request waits for a push instance's answer (a second instance is tried when a stream breaks).
  TT_PUSH_SERVICE_DEADLINE_MS: intRange(100, 60000, 3000),
  // Also push receivers whose only sessions are mobile (a phone in the background may keep its connection).
  TT_PUSH_SERVICE_MOBILE_ONLY: bool(true),
  // Deadline of route's calls to db-proxy (device tokens).
  TT_DB_DEADLINE_MS: positiveInt(5000),
  // TeamTalk's text key: with it the push carries the decrypted text as `flash`.
  TT_AES_KEY: optionalAesKey(TEAMTALK_DEFAULT_AES_KEY),
});

export type RouteConfig = ReturnType<typeof loadRouteConfig>;

/** Throws ConfigError listing every bad key; `env` is for tests. */
export function loadRouteConfig(env?: NodeJS.ProcessEnv) {
  return loadConfig(routeConfigSchema, { service: 'route', env });
}
