import { createPool } from 'mysql2/promise';
import type { RedisClient } from '@tiertalk/redis';
import { Readiness, allOf, startPeriodicProbe, watchRedis } from '@tiertalk/health';
import type { RedisInstances } from './store/redis';
import { serverName } from './store/shard-map';

export interface DependencyCheckOptions {
  masterUrl: string;
  /** Checked separately only when it is another server than the master. */
  replicaUrl: string | undefined;
  /** URLs of the servers holding message shards (TT_MYSQL_SHARDS): each is checked as `mysql:shards@host:port/db`. */
  shardServers?: readonly string[];
  redis: RedisInstances;
  intervalMs: number;
}

// Check names use TeamTalk's names of the logical Redis instances (storage.md §2).
const REDIS_NAMES: Record<Exclude<keyof RedisInstances, 'close'>, string> = {
  unread: 'unread',
  groupSet: 'group_set',
  token: 'token',
  sync: 'sync',
  groupMember: 'group_member',
};

/**
 * db-proxy's readiness checks (docs/HEALTH.md): `mysql:master` (and
 * `mysql:replica` when it is another URL, `mysql:shards@<host:port/db>` for
 * each message shard server of TT_MYSQL_SHARDS) answer SELECT 1, and every logical
 * Redis instance (`redis:unread`, `redis:group_set`, ...) is connected and
 * answers PING. MySQL is pinged on a connection of its own, so a saturated
 * pool under load does not read as an outage.
 */
export function watchDbProxyDependencies(readiness: Readiness, opts: DependencyCheckOptions): { stop(): Promise<void> } {
  const stops: Array<() => Promise<void>> = [];
  const mysqlTargets: Array<[string, string]> = [['mysql:master', opts.masterUrl]];
  if (opts.replicaUrl !== undefined && opts.replicaUrl !== opts.masterUrl) mysqlTargets.push(['mysql:replica', opts.replicaUrl]);
  // A shard server down makes the messages of its shards fail: this instance is not ready for all sends.
  for (const url of opts.shardServers ?? []) mysqlTargets.push([`mysql:shards@${serverName(url)}`, url]);
  for (const [name, url] of mysqlTargets) {
    const pool = createPool({ uri: url, connectionLimit: 1, maxIdle: 1, connectTimeout: Math.max(1000, opts.intervalMs) });
    const probe = startPeriodicProbe(readiness.add(name), () => pool.query('SELECT 1'), { intervalMs: opts.intervalMs, what: 'no answer to SELECT 1' });
    stops.push(async () => {
      await probe.stop();
      await pool.end().catch(() => undefined);
    });
  }
  // Logical instances configured with one URL share a connection: one watcher feeds all their checks.
  const byClient = new Map<RedisClient, string[]>();
  for (const [key, name] of Object.entries(REDIS_NAMES) as Array<[keyof typeof REDIS_NAMES, string]>) {
    const client = opts.redis[key];
    byClient.set(client, [...(byClient.get(client) ?? []), name]);
  }
  for (const [client, names] of byClient) {
    const watcher = watchRedis(allOf(names.map((n) => readiness.add(`redis:${n}`))), client, { intervalMs: opts.intervalMs });
    stops.push(() => watcher.stop());
  }
  return { stop: async () => void (await Promise.all(stops.map((s) => s()))) };
}
