export interface ConfigIssue {
  /** Config key, e.g. TT_GRPC_PORT. */
  key: string;
  /** What was expected, e.g. "expected an integer 0..65535". */
  message: string;
  /** The offending value as found in the source (masked for secrets). */
  value: unknown;
}

/** Invalid configuration; the message lists every bad key, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly service: string | undefined,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(formatIssues(service, issues));
  }
}

function formatIssues(service: string | undefined, issues: readonly ConfigIssue[]): string {
  const head = `invalid configuration${service ? ` for ${service}` : ''} (${issues.length} problem${issues.length === 1 ? '' : 's'}):`;
  const lines = issues.map((i) => `  ${i.key}: ${i.message}, got ${describeValue(i.value)}`);
  return [head, ...lines].join('\n');
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const json = JSON.stringify(v);
  return json === undefined ? String(v) : json;
}
