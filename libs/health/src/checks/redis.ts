import type { EventEmitter } from 'node:events';
import type { CheckSink } from '../readiness';
import { startPeriodicProbe, type PeriodicProbe } from './periodic';

/** What this check needs of an ioredis client (kept structural: libs/health does not depend on ioredis). */
export interface RedisLike extends Pick<EventEmitter, 'on' | 'off'> {
  readonly status: string;
  ping(): Promise<unknown>;
}

export interface RedisCheckOptions {
  intervalMs: number;
  timeoutMs?: number;
}

/**
 * Follows one Redis connection: a closed connection fails the check at once
 * (ioredis 'close'), a (re)established one probes at once ('ready'), and a
 * PING every interval catches a server that stopped answering without
 * closing the connection.
 */
export function watchRedis(sink: CheckSink, client: RedisLike, opts: RedisCheckOptions): { stop(): Promise<void> } {
  let lastError: string | undefined;
  // While the first connection is still being made (no error yet), the check keeps its initial
  // "not checked yet" instead of logging a failure that is only start-up.
  let settled = false;
  const reported: CheckSink = {
    pass: () => {
      settled = true;
      sink.pass();
    },
    fail: (reason) => {
      if (!settled && lastError === undefined && client.status !== 'end' && client.status !== 'close') return;
      settled = true;
      sink.fail(reason);
    },
  };
  const probe: PeriodicProbe = startPeriodicProbe(
    reported,
    async () => {
      if (client.status !== 'ready') throw new Error(`connection ${client.status}${lastError ? ` (${lastError})` : ''}`);
      await client.ping();
      lastError = undefined;
    },
    { intervalMs: opts.intervalMs, timeoutMs: opts.timeoutMs, what: 'no PONG' },
  );
  const onReady = (): void => probe.runNow();
  const onClose = (): void => reported.fail(`connection closed${lastError ? ` (${lastError})` : ''}`);
  const onError = (err: Error): void => {
    lastError = err.message || (err as NodeJS.ErrnoException).code || err.name;
  };
  client.on('ready', onReady);
  client.on('close', onClose);
  client.on('end', onClose);
  client.on('error', onError);
  return {
    async stop() {
      client.off('ready', onReady);
      client.off('close', onClose);
      client.off('end', onClose);
      client.off('error', onError);
      await probe.stop();
    },
  };
}
