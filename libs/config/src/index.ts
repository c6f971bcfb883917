export { loadConfig, exitOnConfigError, defaultInstanceId } from './load';
export type { LoadConfigOptions } from './load';
export { ConfigError } from './errors';
export type { ConfigIssue } from './errors';
export { commonConfigSchema, port, positiveInt, intRange, url, csvList, bool, nonEmptyString } from './schema';
export type { CommonConfig, LogLevel } from './schema';
