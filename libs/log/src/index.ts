export { createLogger, newRequestId } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { REDACT_PATHS, safeErrorSerializer, scrubErrorText } from './redact';
