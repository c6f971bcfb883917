import { Cluster, Redis } from 'ioredis';
import { parseRedisTarget } from '@tiertalk/config';

/** One Redis server or a Redis Cluster: every store and check takes either. */
export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  /** Retries of a command while disconnected before it fails (fail fast rather than queue). */
  maxRetriesPerRequest?: number;
  enableOfflineQueue?: boolean;
  lazyConnect?: boolean;
  enableAutoPipelining?: boolean;
  connectionName?: string;
}

/**
 * The client for a Redis setting (target.ts): `redis-cluster://` seeds give an
 * ioredis Cluster, anything else a plain ioredis client. Cluster clients
 * auto-pipeline unless told not to: batches spread over several slots
 * (batch.ts) then go out as one write per node. (Not for call/callBuffer:
 * ioredis 5 drops their command name when it auto-pipelines them.)
 */
export function createRedisClient(setting: string, opts: RedisClientOptions = {}): RedisClient {
  const target = parseRedisTarget(setting);
  const { maxRetriesPerRequest, enableOfflineQueue, lazyConnect, enableAutoPipelining, connectionName } = opts;
  if (target.kind === 'single') {
    return new Redis(target.url, {
      ...(maxRetriesPerRequest !== undefined && { maxRetriesPerRequest }),
      ...(enableOfflineQueue !== undefined && { enableOfflineQueue }),
      ...(lazyConnect !== undefined && { lazyConnect }),
      ...(enableAutoPipelining !== undefined && { enableAutoPipelining }),
      ...(connectionName !== undefined && { connectionName }),
    });
  }
  return new Cluster(target.seeds, {
    enableAutoPipelining: enableAutoPipelining ?? true,
    ...(enableOfflineQueue !== undefined && { enableOfflineQueue }),
    ...(lazyConnect !== undefined && { lazyConnect }),
    redisOptions: {
      ...(maxRetriesPerRequest !== undefined && { maxRetriesPerRequest }),
      ...(connectionName !== undefined && { connectionName }),
      ...(target.username !== undefined && { username: target.username }),
      ...(target.password !== undefined && { password: target.password }),
    },
  });
}

/** Closes a client politely, or at once when the connection is already gone. */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}

/** A second connection (or set of cluster connections) to the same Redis, auto-pipelining its commands. */
export function autoPipelinedCopy(client: RedisClient): RedisClient {
  return client instanceof Cluster ? client.duplicate(undefined, { enableAutoPipelining: true }) : client.duplicate({ enableAutoPipelining: true });
}

/**
 * defineCommand for a script whose key count varies per call (the caller
 * passes the count first). ioredis' auto-pipelining on a cluster routes a call
 * by its first argument, which here is the count, not a key; such calls are
 * therefore sent outside the auto-pipeline, where ioredis routes them by
 * their real keys.
 */
export function defineVariadicScript(client: RedisClient, name: string, lua: string): void {
  client.defineCommand(name, { lua });
  if (client instanceof Cluster) {
    // Replaced, not pushed to: the default array is shared by every client.
    client.options.autoPipeliningIgnoredCommands = [...(client.options.autoPipeliningIgnoredCommands ?? []), name];
  }
}
