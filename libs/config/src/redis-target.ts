// Where a Redis setting points: one server (any URL ioredis takes:
// redis://[user:password@]host:port/db, rediss://, unix sockets) or a Redis
// Cluster named by its seed nodes:
//   redis-cluster://[user:password@]host:port[,host:port...][/]
// A cluster has no db numbers; ioredis learns every other node from the seeds.

export const CLUSTER_SCHEME = 'redis-cluster://';

export interface ClusterSeed {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; seeds: ClusterSeed[]; username?: string; password?: string };

const CLUSTER_URL = /^redis-cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?$/;

/** Parses a Redis setting; throws on a malformed cluster form. */
export function parseRedisTarget(value: string): RedisTarget {
  const text = value.trim();
  if (!text.toLowerCase().startsWith(CLUSTER_SCHEME)) return { kind: 'single', url: text };
  const m = CLUSTER_URL.exec(text);
  if (m === null) throw new Error(`expected ${CLUSTER_SCHEME}[user:password@]host:port[,host:port...]`);
  const seeds = (m[2] ?? '').split(',').map((part) => parseSeed(part.trim()));
  const target: RedisTarget = { kind: 'cluster', seeds };
  const userInfo = m[1];
  if (userInfo !== undefined && userInfo !== '') {
    const colon = userInfo.indexOf(':');
    const user = decodeURIComponent(colon < 0 ? userInfo : userInfo.slice(0, colon));
    if (user !== '') target.username = user;
    if (colon >= 0) target.password = decodeURIComponent(userInfo.slice(colon + 1));
  }
  return target;
}

/** True when the setting is well-formed (config validation). */
export function isRedisTarget(value: string): boolean {
  try {
    const t = parseRedisTarget(value);
    return t.kind === 'cluster' || URL.canParse(t.url);
  } catch {
    return false;
  }
}

function parseSeed(part: string): ClusterSeed {
  // host:port, [v6]:port
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(part);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || m[1] === undefined || !(port > 0 && port < 65536)) throw new Error(`bad cluster seed "${part}": expected host:port`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}
