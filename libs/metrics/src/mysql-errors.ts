import { subscribe } from 'node:diagnostics_channel';
import { Counter } from 'prom-client';
import { metricsRegistry } from './registry';

const mysqlErrors = new Counter({
  name: 'tt_mysql_errors_total',
  help: 'MySQL operations that failed, by operation (query, execute, connect, pool_connect), error code and server (host:port)',
  labelNames: ['op', 'code', 'server'] as const,
  registers: [metricsRegistry],
});

// mysql2 publishes every query, prepared execute, connection handshake and
// pool checkout on these tracing channels (lib/tracing.js); their `error`
// event carries the failure, whichever pool or connection ran it, and the
// server it went to (db-proxy may talk to several: TT_MYSQL_SHARDS).
const CHANNELS = { query: 'mysql2:query', execute: 'mysql2:execute', connect: 'mysql2:connect', pool_connect: 'mysql2:pool:connect' } as const;

// mysql2 codes are ER_* names from its fixed table, or Node's socket errnos; anything else is `other`.
const CODE = /^(ER_[A-Z0-9_]+|E[A-Z]+|PROTOCOL_[A-Z_]+|HANDSHAKE_[A-Z_]+)$/;

/** The bounded label of one failure: mysql2's code, the pool's own queue-limit error, else `other`. */
export function mysqlErrorCode(err: unknown): string {
  if (typeof err !== 'object' || err === null) return 'other';
  const code = 'code' in err ? err.code : undefined;
  if (typeof code === 'string' && code.length <= 48 && CODE.test(code)) return code;
  if (err instanceof Error && err.message === 'Queue limit reached.') return 'POOL_QUEUE_FULL';
  return 'other';
}

interface TraceContext {
  error?: unknown;
  serverAddress?: unknown;
  serverPort?: unknown;
}

/** `host:port` (or the socket path) of the traced operation; `unknown` when mysql2 did not say. */
export function mysqlServerLabel(m: { serverAddress?: unknown; serverPort?: unknown }): string {
  if (typeof m.serverAddress !== 'string' || m.serverAddress === '') return 'unknown';
  return m.serverPort === undefined || m.serverPort === null ? m.serverAddress.slice(0, 120) : `${m.serverAddress.slice(0, 100)}:${String(m.serverPort)}`;
}

let subscribed = false;

/** Counts every failed MySQL operation of this process in tt_mysql_errors_total (idempotent). */
export function countMysqlErrors(): void {
  if (subscribed) return;
  subscribed = true;
  for (const [op, name] of Object.entries(CHANNELS)) {
    subscribe(`tracing:${name}:error`, (message) => {
      const m = message as TraceContext;
      mysqlErrors.inc({ op, code: mysqlErrorCode(m.error), server: mysqlServerLabel(m) });
    });
  }
}
