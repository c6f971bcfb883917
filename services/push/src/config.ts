import { z } from 'zod';
import { commonConfigSchema, intRange, loadConfig, optionalAesKey, port, positiveInt } from '@tiertalk/config';
import { TEAMTALK_DEFAULT_AES_KEY } from '@tiertalk/proto';

// An unset or empty value means "none".
const blankAsUnset = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalText = () => z.preprocess(blankAsUnset, z.string().trim().optional());
const HTTP_URL_ERROR = 'expected an http:// or https:// URL';
const httpUrl = () =>
  z
    .string({ error: HTTP_URL_ERROR })
    .trim()
    .refine((s) => URL.canParse(s) && ['http:', 'https:'].includes(new URL(s).protocol), { error: HTTP_URL_ERROR });

/** The providers a client type's tokens can be sent through (providers/select.ts). */
export const PROVIDER_NAMES = ['apns', 'fcm', 'webhook', 'none'] as const;
export type ProviderChoice = (typeof PROVIDER_NAMES)[number];

export const pushConfigSchema = commonConfigSchema.extend({
  TT_GRPC_PORT: port(8500),
  // Push requests held (waiting for tokens, a send slot or a retry); more are shed and counted.
  TT_PUSH_QUEUE_MAX: positiveInt(10000),
  // Notifications being sent at once (all providers together).
  TT_PUSH_CONCURRENCY: intRange(1, 256, 16),
  // Send attempts per notification, the first included; only transient failures are retried.
  TT_PUSH_MAX_ATTEMPTS: intRange(1, 20, 4),
  TT_PUSH_RETRY_BASE_MS: intRange(1, 60000, 500),
  TT_PUSH_RETRY_MAX_MS: intRange(1, 600000, 30000),
  // One HTTP request to a provider.
  TT_PUSH_TIMEOUT_MS: intRange(100, 60000, 10000),
  // Deadline of the calls to db-proxy (device tokens, shields).
  TT_DB_DEADLINE_MS: positiveInt(5000),
  // TeamTalk's text key: with it a text message's push shows its text; without, a neutral line.
  TT_AES_KEY: optionalAesKey(TEAMTALK_DEFAULT_AES_KEY),
  // Which provider serves the tokens of each client type (a Web Push subscription token always goes to Web Push).
  TT_PUSH_IOS_PROVIDER: z.enum(PROVIDER_NAMES).default('apns'),
  TT_PUSH_ANDROID_PROVIDER: z.enum(PROVIDER_NAMES).default('fcm'),
  // APNs token auth: the .p8 key's PEM text (give it as TT_APNS_KEY_FILE=/path/AuthKey_XXXX.p8).
  TT_APNS_KEY: optionalText(),
  TT_APNS_KEY_ID: optionalText(),
  TT_APNS_TEAM_ID: optionalText(),
  // The app's bundle id (apns-topic).
  TT_APNS_TOPIC: optionalText(),
  // https://api.sandbox.push.apple.com for development builds of the app.
  TT_APNS_URL: httpUrl().default('https://api.push.apple.com'),
  // FCM HTTP v1: the service account's JSON key (give it as TT_FCM_SERVICE_ACCOUNT_KEY_FILE=/path/sa.json).
  TT_FCM_SERVICE_ACCOUNT_KEY: optionalText(),
  TT_FCM_URL: httpUrl().default('https://fcm.googleapis.com'),
  // Web Push (VAPID): the application server keys (URL-safe base64, as `web-push generate-vapid-keys` prints).
  TT_VAPID_PUBLIC_KEY: optionalText(),
  TT_VAPID_PRIVATE_KEY: optionalText(),
  // mailto: or https: contact the push services may use.
  TT_VAPID_SUBJECT: optionalText(),
  // Generic webhook: one JSON POST per notification.
  TT_WEBHOOK_URL: z.preprocess(blankAsUnset, httpUrl().optional()),
  // With it every POST carries x-tiertalk-signature: sha256=<HMAC-SHA256 of the body, hex>.
  TT_WEBHOOK_SECRET: optionalText(),
});

export type PushConfig = ReturnType<typeof loadPushConfig>;

/** Throws ConfigError listing every bad key; `env` is for tests. */
export function loadPushConfig(env?: NodeJS.ProcessEnv) {
  return loadConfig(pushConfigSchema, { service: 'push', env });
}
