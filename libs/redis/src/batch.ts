import { Cluster, type ChainableCommander } from 'ioredis';
import type { RedisClient } from './client';

type Reply = [error: Error | null, result: unknown];

/**
 * A pipeline of independent commands whose keys may lie in different slots.
 * On one server it is an ioredis pipeline. An ioredis Cluster refuses a
 * pipeline spanning slots, so there the commands are queued and, at exec(),
 * issued one by one on the (auto-pipelining) cluster client: each goes to its
 * slot's node, commands for one node still leave in one write, and replies
 * come back in call order as [error, result] pairs, as exec() gives them.
 * Neither form is atomic (use a Lua script or MULTI on one slot for that).
 */
export function batch(client: RedisClient): ChainableCommander {
  if (!(client instanceof Cluster)) return client.pipeline();
  const queued: Array<() => Promise<unknown>> = [];
  const target = client as unknown as Record<string | symbol, unknown>;
  const proxy: ChainableCommander = new Proxy({} as ChainableCommander, {
    get(_, prop) {
      if (prop === 'length') return queued.length;
      if (prop === 'exec') return () => settle(queued.map((send) => send()));
      if (prop === 'then') return undefined;
      const command = target[prop];
      if (typeof command !== 'function') throw new Error(`batch: ${String(prop)} is not a Redis command`);
      return (...args: unknown[]) => {
        queued.push(() => (command as (...a: unknown[]) => Promise<unknown>).apply(client, args));
        return proxy;
      };
    },
  });
  return proxy;
}

async function settle(sent: Array<Promise<unknown>>): Promise<Reply[]> {
  const settled = await Promise.allSettled(sent);
  return settled.map((s): Reply => (s.status === 'fulfilled' ? [null, s.value] : [s.reason instanceof Error ? s.reason : new Error(String(s.reason)), null]));
}

/** DEL of keys that may lie in different slots (one DEL on a server, one per key on a cluster). */
export async function deleteKeys(client: RedisClient, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  if (!(client instanceof Cluster)) {
    await client.del(...keys);
    return;
  }
  const b = batch(client);
  for (const key of keys) b.del(key);
  for (const [err] of (await b.exec()) ?? []) if (err) throw err;
}
