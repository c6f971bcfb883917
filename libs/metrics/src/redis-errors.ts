import { Counter } from 'prom-client';
import { metricsRegistry } from './registry';

const redisErrors = new Counter({
  name: 'tt_redis_errors_total',
  help: 'Redis commands that failed (by command) and connection errors (op="connection"), per configured Redis',
  labelNames: ['redis', 'op'] as const,
  registers: [metricsRegistry],
});

/** The part of an ioredis client counted here (kept structural: this library does not depend on ioredis). */
export interface CountableRedis {
  on(event: 'error', listener: (err: Error) => void): unknown;
  sendCommand(command: RedisCommandLike, ...rest: never[]): unknown;
}

export interface RedisCommandLike {
  readonly name: string;
  readonly args: readonly unknown[];
  readonly promise: Promise<unknown>;
}

/**
 * Failures the client expects and absorbs: NOSCRIPT (ioredis loads the script
 * and runs it again) and CLIENT SETINFO, which ioredis sends on every connect
 * and which servers before Redis 7.2 do not know.
 */
function absorbed(command: RedisCommandLike, err: unknown): boolean {
  if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return true;
  return command.name.toLowerCase() === 'client' && String(command.args[0]).toLowerCase() === 'setinfo';
}

/**
 * Counts the client's failed commands (rejected: error reply, connection
 * lost, retries exhausted while offline) under their command name, and its
 * connection errors, in tt_redis_errors_total{redis=name}. `name` is a fixed
 * role ("session", "unread"), never an address. Failures the client absorbs
 * itself are not counted (absorbed() above). Also installs an 'error' listener, so pass `onError` to keep logging them.
 */
export function countRedisErrors<R extends CountableRedis>(client: R, name: string, onError?: (err: Error) => void): R {
  const send = client.sendCommand.bind(client) as (command: RedisCommandLike, ...rest: never[]) => unknown;
  // A command passes through sendCommand again when the offline queue is flushed: count it once.
  const seen = new WeakSet<RedisCommandLike>();
  client.sendCommand = (command: RedisCommandLike, ...rest: never[]): unknown => {
    if (!seen.has(command)) {
      seen.add(command);
      const op = command.name.toLowerCase();
      command.promise.catch((err: unknown) => {
        if (!absorbed(command, err)) redisErrors.inc({ redis: name, op });
      });
    }
    return send(command, ...rest);
  };
  client.on('error', (err) => {
    redisErrors.inc({ redis: name, op: 'connection' });
    onError?.(err);
  });
  return client;
}
