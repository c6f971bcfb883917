import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { CENSORED, REDACT_PATHS, safeErrorSerializer } from './redact';

export type Logger = pino.Logger;

export interface LoggerOptions {
  service: string;
  instanceId: string;
  /** pino level name: fatal|error|warn|info|debug|trace|silent. */
  level: string;
  /** Where lines go; stdout when omitted. Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

/** One JSON line per event on stdout, with `service`, `instance` and an ISO `time`. */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: opts.service, instance: opts.instanceId },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names read better than pino's numbers in `grep`ped logs.
      formatters: { level: (label) => ({ level: label }) },
      // No passwords, tokens or message bodies in logs (./redact.ts).
      redact: { paths: REDACT_PATHS, censor: CENSORED },
      serializers: { err: safeErrorSerializer, error: safeErrorSerializer, checkErr: safeErrorSerializer },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/** Short id to correlate one request across tiers (12 hex chars). */
export function newRequestId(): string {
  return randomBytes(6).toString('hex');
}
