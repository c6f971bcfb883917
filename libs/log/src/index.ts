export { createLogger, newRequestId } from './logger';
export type { Logger, LoggerOptions } from './logger';
