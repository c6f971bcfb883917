import { Cluster } from 'ioredis';
import type { RedisClient } from './client';

// Redis Cluster hashes a key by its hash tag, the text between the first `{`
// and the next `}` (when not empty), else the whole key: keys with the same
// tag share a slot, so one Lua script or MULTI may touch them all.

/**
 * `{part}` on a cluster, `part` on one server: key names stay exactly as they
 * were (TeamTalk's) on a single Redis, and keys built around the same part
 * share a slot on a cluster.
 */
export function slotTag(client: RedisClient, part: string | number): string {
  return client instanceof Cluster ? `{${part}}` : String(part);
}

/** The part of a key Redis Cluster hashes (its hash tag, or the whole key). */
export function hashedPart(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/** Runs `fn` on every master of a cluster, or on the one server. */
export async function onEveryMaster<T>(client: RedisClient, fn: (node: RedisClient) => Promise<T>): Promise<T[]> {
  if (!(client instanceof Cluster)) return [await fn(client)];
  return Promise.all(client.nodes('master').map((node) => fn(node)));
}

/** Keys in the whole keyspace (DBSIZE of one server, summed over a cluster's masters). */
export async function totalKeys(client: RedisClient): Promise<number> {
  return (await onEveryMaster(client, (node) => node.dbsize())).reduce((a, b) => a + b, 0);
}
