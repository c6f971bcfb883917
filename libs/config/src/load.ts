import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError, ConfigIssue } from './errors';
import { maskValue } from './mask';
import { RuntimeEnv, secretRule } from './secrets';

export interface LoadConfigOptions {
  /** Defaults to process.env; tests pass their own. */
  env?: NodeJS.ProcessEnv;
  /** Service name, used in messages and in the default TT_INSTANCE_ID. */
  service: string;
}

const FILE_KEY = 'TT_CONFIG_FILE';
// `<KEY>_FILE=/run/secrets/x`: the value of KEY is that file's content (Docker and Kubernetes secrets).
const FILE_SUFFIX = '_FILE';

export function defaultInstanceId(service: string): string {
  return `${service}-${hostname()}-${process.pid}`;
}

/**
 * Validates configuration from, later winning: schema defaults, the JSON file
 * named by TT_CONFIG_FILE, the environment. Throws ConfigError listing every
 * bad key. Returns a deep-frozen object.
 */
export function loadConfig<T extends z.ZodTypeAny>(schema: T, opts?: LoadConfigOptions): Readonly<z.infer<T>> {
  const env = opts?.env ?? process.env;
  const service = opts?.service;
  const issues: ConfigIssue[] = [];
  const input: Record<string, unknown> = {};

  const file = env[FILE_KEY];
  if (file !== undefined && file !== '') {
    const loaded = readConfigFile(file);
    if (loaded instanceof Error) issues.push({ key: FILE_KEY, message: `expected a readable JSON object file (${loaded.message})`, value: file });
    else Object.assign(input, loaded);
  }
  for (const [key, value] of Object.entries(env)) {
    // `KEY=` in a compose file means "not set"; treat it so rather than as an empty value.
    if (value !== undefined && value !== '') input[key] = value;
  }

  const shape = schema instanceof z.ZodObject ? (schema.shape as Record<string, unknown>) : {};
  const reported = readSecretFiles(input, shape, issues);
  // The instance id depends on the service and host, so it cannot be a schema default.
  if (input.TT_INSTANCE_ID === undefined) input.TT_INSTANCE_ID = defaultInstanceId(service ?? 'tiertalk');
  applySecretRules(input, shape, runtimeEnv(input.TT_ENV), issues, reported);

  const result = schema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
      const top = issue.path.length > 0 ? String(issue.path[0]) : undefined;
      if (top !== undefined && reported.has(top)) continue;
      const raw = top === undefined ? undefined : input[top];
      issues.push({ key, message: issue.message, value: top === undefined ? raw : maskValue(top, raw) });
    }
  }
  if (!result.success || issues.length > 0) throw new ConfigError(service, issues);
  return deepFreeze(result.data);
}

/** Anything but an explicit `development` is production: a typo must not switch protections off. */
function runtimeEnv(raw: unknown): RuntimeEnv {
  return typeof raw === 'string' && raw.trim() === 'development' ? 'development' : 'production';
}

/**
 * Replaces each `<KEY>_FILE` of a schema key by KEY = the file's content (one
 * trailing newline dropped). Returns the keys whose file was a problem.
 */
function readSecretFiles(input: Record<string, unknown>, shape: Record<string, unknown>, issues: ConfigIssue[]): Set<string> {
  const reported = new Set<string>();
  const report = (key: string, issue: ConfigIssue): void => {
    issues.push(issue);
    reported.add(key);
  };
  for (const fileKey of Object.keys(input)) {
    if (!fileKey.endsWith(FILE_SUFFIX) || fileKey === FILE_KEY) continue;
    const key = fileKey.slice(0, -FILE_SUFFIX.length);
    if (!(key in shape)) continue;
    const path = input[fileKey];
    delete input[fileKey];
    if (input[key] !== undefined) {
      report(key, { key: fileKey, message: `expected either ${key} or ${fileKey}, not both`, value: path });
      continue;
    }
    if (typeof path !== 'string') {
      report(key, { key: fileKey, message: 'expected a file path', value: path });
      continue;
    }
    try {
      const content = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
      if (content === '') report(key, { key: fileKey, message: `expected a file holding ${key}, but it is empty`, value: path });
      else input[key] = content;
    } catch (err) {
      // Not `instanceof Error`: fs errors may come from another realm (jest).
      const why = (err as { message?: unknown } | null)?.message;
      report(key, { key: fileKey, message: `expected a readable file holding ${key} (${typeof why === 'string' ? why : String(err)})`, value: path });
    }
  }
  return reported;
}

/**
 * Development: an unset secret takes its development default. Production: an
 * unset secret that only has a development default, or a refused value, is an
 * issue. Adds the keys reported to `reported`, so the schema's own message is not added.
 */
function applySecretRules(input: Record<string, unknown>, shape: Record<string, unknown>, env: RuntimeEnv, issues: ConfigIssue[], reported: Set<string>): void {
  for (const [key, entry] of Object.entries(shape)) {
    const rule = secretRule(entry);
    if (!rule || reported.has(key)) continue;
    const value = input[key];
    if (value === undefined) {
      if (!('devDefault' in rule)) continue;
      if (env === 'development') {
        input[key] = rule.devDefault;
        continue;
      }
      issues.push({ key, message: `required in production (TT_ENV=production has no built-in default); set ${key} or ${key}${FILE_SUFFIX}`, value });
      reported.add(key);
      continue;
    }
    const refused = env === 'production' ? rule.refuseInProduction?.(value) : undefined;
    if (refused !== undefined) {
      issues.push({ key, message: `refused in production: ${refused}`, value: maskValue(key, value) });
      reported.add(key);
    }
  }
}

function readConfigFile(path: string): Record<string, unknown> | Error {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
  if (!isRecord(parsed)) return new Error('top level is not an object');
  const out: Record<string, unknown> = {};
  // null in the file means "unset", so the default applies.
  for (const [k, v] of Object.entries(parsed)) if (v !== null) out[k] = v;
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<V>(v: V): V {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

/**
 * Runs a config-loading function; on ConfigError prints the message and exits 2.
 * The one place in the project that writes to stderr directly: no logger exists yet.
 */
export function exitOnConfigError<R>(fn: () => R): R {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
