import { z } from 'zod';
import { isRedisTarget } from './redis-target';

// Every helper accepts a string (from the environment) or an already typed
// JSON value (from TT_CONFIG_FILE), and reports one "expected ..." message.

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function toNumber(v: unknown): unknown {
  return typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : v;
}

function intBetween(min: number, max: number, expected: string) {
  const error = `expected ${expected}`;
  return z.preprocess(toNumber, z.number({ error }).int({ error }).min(min, { error }).max(max, { error }));
}

/** TCP port; 0 means "pick a free port". */
export function port(defaultPort: number) {
  return intBetween(0, 65535, 'an integer 0..65535').default(defaultPort);
}

/** TCP port without a default: unset means "off"; 0 means "pick a free port". */
export function optionalPort() {
  return intBetween(0, 65535, 'an integer 0..65535').optional();
}

export function positiveInt(defaultValue: number) {
  return intBetween(1, Number.MAX_SAFE_INTEGER, 'a positive integer').default(defaultValue);
}

/** Integer within [min, max]. */
export function intRange(min: number, max: number, defaultValue: number) {
  return intBetween(min, max, `an integer ${min}..${max}`).default(defaultValue);
}

/** Absolute URL; without a default it is required (see `secret` for development-only defaults). */
export function url(defaultValue: string): z.ZodDefault<z.ZodString>;
export function url(): z.ZodString;
export function url(defaultValue?: string) {
  const error = 'expected an absolute URL';
  const base = z
    .string({ error })
    .trim()
    .refine((s) => URL.canParse(s), { error });
  return defaultValue === undefined ? base : base.default(defaultValue);
}

/**
 * A Redis server URL (redis://, rediss://) or a Redis Cluster's seed nodes,
 * `redis-cluster://[user:password@]host:port[,host:port...]` (redis-target.ts).
 */
export function redisUrl() {
  const error = 'expected a Redis URL (redis://host:port/db) or redis-cluster://host:port[,host:port...]';
  return z
    .string({ error })
    .trim()
    .refine((s) => isRedisTarget(s), { error });
}

/** Comma-separated list (env) or a JSON array of strings (file); blanks dropped, at least one entry. */
export function csvList(defaultValue: readonly string[]) {
  const error = 'expected a comma-separated list of non-empty strings';
  return z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v),
      z.array(z.string({ error }).min(1, { error }), { error }).min(1, { error }),
    )
    .default([...defaultValue]);
}

export function bool(defaultValue: boolean) {
  const error = 'expected true, false, 1 or 0';
  return z
    .preprocess((v) => {
      if (typeof v !== 'string') return v;
      const s = v.trim().toLowerCase();
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
      return v;
    }, z.boolean({ error }))
    .default(defaultValue);
}

export function nonEmptyString(defaultValue?: string) {
  const base = z.string({ error: 'expected a non-empty string' }).min(1, { error: 'expected a non-empty string' });
  return defaultValue === undefined ? base : base.default(defaultValue);
}

/** Keys every TierTalk service reads (docs/ARCHITECTURE.md, common configuration). */
export const commonConfigSchema = z.object({
  TT_ETCD_ENDPOINTS: csvList(['http://127.0.0.1:2379']),
  // Keys are `${prefix}/services/...`, so a trailing slash would double it.
  TT_ETCD_PREFIX: z
    .string({ error: 'expected a key prefix like "/tiertalk"' })
    .regex(/^\/(.*[^/])?$/, { error: 'expected a key prefix starting with "/" and not ending with "/"' })
    .refine((s) => s !== '/', { error: 'expected a key prefix starting with "/" and not ending with "/"' })
    .default('/tiertalk'),
  TT_LEASE_TTL_SEC: intRange(1, 60, 5),
  // Optional for the operator: loadConfig supplies `<service>-<host>-<pid>` when unset.
  TT_INSTANCE_ID: z
    .string({ error: 'expected a non-empty id without "/"' })
    .regex(/^[^/]+$/, { error: 'expected a non-empty id without "/"' }),
  TT_LOG_LEVEL: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join('|')}` }).default('info'),
  TT_GRPC_HOST: nonEmptyString('127.0.0.1'),
  // production: secrets have no built-in default; development (`make up`, tests) allows them.
  TT_ENV: z.enum(['production', 'development'], { error: 'expected production or development' }).default('production'),
  // Prometheus `/metrics`: unset = no metrics port, 0 = any free port (published in etcd meta).
  TT_METRICS_PORT: optionalPort(),
  TT_METRICS_HOST: nonEmptyString().optional(),
  // Mutual TLS between tiers (docs/SECURITY.md): PEM files, reloaded on SIGHUP or change.
  TT_TLS_CA: nonEmptyString().optional(),
  TT_TLS_CERT: nonEmptyString().optional(),
  TT_TLS_KEY: nonEmptyString().optional(),
  // Plaintext gRPC instead; refused at start-up unless TT_GRPC_HOST is loopback.
  TT_GRPC_INSECURE: bool(false),
  // etcd over TLS (https:// endpoints): default to the TT_TLS_* files.
  TT_ETCD_CA: nonEmptyString().optional(),
  TT_ETCD_CERT: nonEmptyString().optional(),
  TT_ETCD_KEY: nonEmptyString().optional(),
  TT_ETCD_USERNAME: nonEmptyString().optional(),
  TT_ETCD_PASSWORD: nonEmptyString().optional(),
});

export type CommonConfig = z.infer<typeof commonConfigSchema>;
