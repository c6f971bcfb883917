// Logs never carry passwords, tokens, keys or message bodies (docs/SECURITY.md,
// secrets and logs). Two layers: pino's `redact` censors known field names in
// what the code logs, and the error serializer drops what libraries attach to
// errors (mysql2 puts the whole statement, message bodies included, on `err.sql`).
import pino from 'pino';

export const CENSORED = '[redacted]';

// Field names that hold secrets or user content wherever they appear in a log object.
const SECRET_FIELDS = [
  'password',
  'passwd',
  'token',
  'deviceToken',
  'device_token',
  'authorization',
  'cookie',
  'aesKey',
  'secret',
  'content',
  'msgData',
  'msg_data',
  'attachData',
  'attach_data',
];

/** pino `redact` paths: each field at the top level, one level down, and in HTTP headers. */
export const REDACT_PATHS: string[] = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
];

// What libraries attach to errors: mysql2 `sql` (with the values inlined) and `values`; ioredis `command`
// (name and arguments: keys and values); HTTP clients `config`, `request`, `response`, `body`.
const DROPPED_ERROR_FIELDS = new Set([
  'sql',
  'values',
  'params',
  'parameters',
  'query',
  'command',
  'args',
  'argv',
  'body',
  'data',
  'config',
  'request',
  'response',
  ...SECRET_FIELDS,
]);

// MySQL error texts that quote a piece of the statement or of a value.
const QUOTING_ERRORS: ReadonlyArray<[RegExp, string]> = [
  [/near '[\s\S]*' at line (\d+)/g, "near '…' at line $1"],
  [/Duplicate entry '[\s\S]*?' for key/g, "Duplicate entry '…' for key"],
  [/Incorrect (\w+) value: '[\s\S]*?' for/g, "Incorrect $1 value: '…' for"],
  [/Truncated incorrect (\w+) value: '[\s\S]*'/g, "Truncated incorrect $1 value: '…'"],
];

/** An error text with MySQL's quotes of statement or value pieces removed. */
export function scrubErrorText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of QUOTING_ERRORS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * pino's error serializer, then everything that may carry a statement, a
 * value or a secret is dropped, recursively (causes, aggregated errors).
 * Anything that is not an error goes through as it is, except strings.
 */
export function safeErrorSerializer(err: unknown): unknown {
  if (typeof err === 'string') return scrubErrorText(err);
  if (!(err instanceof Error)) return err;
  return scrub(pino.stdSerializers.err(err), 0);
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubErrorText(value);
  if (depth > 5 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (DROPPED_ERROR_FIELDS.has(k)) continue;
    out[k] = scrub(v, depth + 1);
  }
  return out;
}
