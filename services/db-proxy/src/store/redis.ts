import Redis from 'ioredis';

/** TeamTalk's logical cache instances (docs/STORAGE.md §2, config CacheInstances). */
export interface RedisInstances {
  unread: Redis;
  groupSet: Redis;
  token: Redis;
  sync: Redis;
  groupMember: Redis;
  close(): Promise<void>;
}

export interface RedisUrls {
  unread: string;
  groupSet: string;
  token: string;
  sync: string;
  groupMember: string;
}

/** Instances configured with the same URL share one connection. */
export function createRedisInstances(urls: RedisUrls): RedisInstances {
  const byUrl = new Map<string, Redis>();
  const client = (url: string): Redis => {
    let c = byUrl.get(url);
    if (c === undefined) {
      // Fail commands fast while disconnected instead of queueing them forever:
      // a message is ACKed only after its unread counter is written.
      c = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
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
      await Promise.all([...byUrl.values()].map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
