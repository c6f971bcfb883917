import { countRedisErrors } from '@tiertalk/metrics';
import { closeRedisClient, createRedisClient, type RedisClient } from '@tiertalk/redis';

/** TeamTalk's logical cache instances (docs/STORAGE.md §2, config CacheInstances). */
export interface RedisInstances {
  unread: RedisClient;
  groupSet: RedisClient;
  token: RedisClient;
  sync: RedisClient;
  groupMember: RedisClient;
  close(): Promise<void>;
}

export interface RedisUrls {
  unread: string;
  groupSet: string;
  token: string;
  sync: string;
  groupMember: string;
}

/** Instances configured with the same URL share one connection; a `redis-cluster://` URL gives a Redis Cluster client (docs/OPERATIONS.md). */
export function createRedisInstances(urls: RedisUrls, onError?: (err: Error, redis: string) => void): RedisInstances {
  // tt_redis_errors_total{redis} names a connection by the instances sharing it ("unread+group_set+...").
  const roles: Array<[keyof RedisUrls, string]> = [
    ['unread', 'unread'],
    ['groupSet', 'group_set'],
    ['token', 'token'],
    ['sync', 'sync'],
    ['groupMember', 'group_member'],
  ];
  const namesByUrl = new Map<string, string[]>();
  for (const [key, name] of roles) namesByUrl.set(urls[key], [...(namesByUrl.get(urls[key]) ?? []), name]);
  const byUrl = new Map<string, RedisClient>();
  const client = (url: string): RedisClient => {
    let c = byUrl.get(url);
    if (c === undefined) {
      // Fail commands fast while disconnected instead of queueing them forever:
      // a message is ACKed only after its unread counter is written.
      const name = (namesByUrl.get(url) ?? []).join('+');
      c = countRedisErrors(createRedisClient(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false }), name, (err) => onError?.(err, name));
      byUrl.set(url, c);
    }
    return c;
  };
  return {
    unread: client(urls.unread),
    groupSet: client(urls.groupSet),
    token: client(urls.token),
    sync: client(urls.sync),
    groupMember: client(urls.groupMember),
    async close() {
      await Promise.all([...byUrl.values()].map((c) => closeRedisClient(c)));
    },
  };
}

/** Every instance on one connection (benchmarks and tests against a single Redis); close disconnects it. */
export function oneRedisForAll(client: RedisClient): RedisInstances {
  return {
    unread: client,
    groupSet: client,
    token: client,
    sync: client,
    groupMember: client,
    async close() {
      client.disconnect();
    },
  };
}
