import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError, ConfigIssue } from './errors';

export interface LoadConfigOptions {
  /** Defaults to process.env; tests pass their own. */
  env?: NodeJS.ProcessEnv;
  /** Service name, used in messages and in the default TT_INSTANCE_ID. */
  service: string;
}

const FILE_KEY = 'TT_CONFIG_FILE';
const SECRET_KEY = /PASSWORD|SECRET|TOKEN/i;

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

  // The instance id depends on the service and host, so it cannot be a schema default.
  if (input.TT_INSTANCE_ID === undefined) input.TT_INSTANCE_ID = defaultInstanceId(service ?? 'tiertalk');

  const result = schema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
      const top = issue.path.length > 0 ? String(issue.path[0]) : undefined;
      const raw = top === undefined ? undefined : input[top];
      issues.push({ key, message: issue.message, value: top !== undefined && SECRET_KEY.test(top) && raw !== undefined ? '***' : raw });
    }
  }
  if (!result.success || issues.length > 0) throw new ConfigError(service, issues);
  return deepFreeze(result.data);
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
