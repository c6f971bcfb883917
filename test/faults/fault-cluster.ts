// The fault suite's world: a private MariaDB, Redis and etcd (so the suite may
// stop, kill and flush them) and a cluster of 2 db-proxy, 2 route, 2 msg and a
// login on top of them. Everything is torn down by PID.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pickGateway } from '@tiertalk/client';
import { Cluster, PrivateEtcd, PrivateMariaDb, PrivateRedis, prepareTestDatabase, repoRoot } from '@tiertalk/testkit';
import type { ServiceName } from '@tiertalk/testkit';
import { ensureUsers, userNames } from '../pressure/src';
import type { GatewayAddr } from '../pressure/src';

export const FAULT_PASSWORD = 'fault-pw';
const DATABASE = 'teamtalk_faults';

export interface FaultWorld {
  mariadb: PrivateMariaDb;
  redis: PrivateRedis;
  etcd: PrivateEtcd;
  cluster: Cluster;
  names: string[];
  /** The world's database, e.g. for more users. */
  mysqlUrl: string;
}

/** Starts the dependencies, the schema, the bench users and the cluster; on failure stops what started. */
export async function startWorld(clients: number): Promise<FaultWorld> {
  const started: { destroy(): Promise<void> }[] = [];
  try {
    const [mariadb, redis, etcd] = await Promise.all([PrivateMariaDb.start(), PrivateRedis.start(), PrivateEtcd.start()]);
    started.push(mariadb, redis, etcd);
    const mysqlUrl = await prepareTestDatabase(DATABASE, mariadb.url());
    const names = userNames('fault', clients);
    await ensureUsers(mysqlUrl, names, FAULT_PASSWORD);
    const cluster = await Cluster.start({
      dbProxy: 2,
      route: 2,
      msg: 2,
      login: true,
      etcdEndpoints: [etcd.endpoint],
      logDir: path.join(repoRoot, '.run', 'fault-logs'),
      serviceEnv: {
        'db-proxy': {
          TT_MYSQL_MASTER_URL: mysqlUrl,
          TT_MYSQL_REPLICA_URL: mysqlUrl,
          TT_REDIS_UNREAD_URL: redis.url(1),
          TT_REDIS_GROUP_SET_URL: redis.url(1),
          TT_REDIS_TOKEN_URL: redis.url(1),
          TT_REDIS_GROUP_MEMBER_URL: redis.url(1),
          TT_REDIS_SYNC_URL: redis.url(2),
        },
        route: { TT_SESSION_REDIS_URL: redis.url(3) },
        // The load stays under TeamTalk's 20 msg/s per connection; no limit keeps refusals out of the figures.
        msg: { TT_MSG_RATE_PER_SEC: '0' },
      },
      // Per-message logs would load the machine, not the cluster.
      env: { TT_LOG_LEVEL: 'warn' },
    });
    return { mariadb, redis, etcd, cluster, names, mysqlUrl };
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.destroy()));
    throw err;
  }
}

export async function stopWorld(world: FaultWorld | undefined): Promise<void> {
  if (!world) return;
  try {
    await world.cluster.stop();
  } finally {
    await Promise.allSettled([world.mariadb.destroy(), world.redis.destroy(), world.etcd.destroy()]);
  }
}

/** Names of the running instances of a tier, oldest first. */
export function running(cluster: Cluster, service: ServiceName): string[] {
  return cluster.instanceInfo().filter((i) => i.service === service && i.alive).map((i) => i.name);
}

/** The running gateways' TeamTalk TCP addresses. */
export function gatewayAddrs(cluster: Cluster): GatewayAddr[] {
  return cluster.gateways().map((g) => ({ host: '127.0.0.1', port: g.tcpPort }));
}

/** Where a TeamTalk client logs in again: the login server's choice (it throws while no login runs). */
export async function loginServerChoice(cluster: Cluster): Promise<GatewayAddr> {
  const g = await pickGateway(cluster.loginUrl, { timeoutMs: 2000 });
  return { host: g.host, port: g.port };
}

/** CPU time (user + system clock ticks) a process used so far; 0 when it is gone. */
function cpuTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/**
 * The running instance of a tier that used the most CPU over `sampleMs`: the
 * one carrying the traffic. Killing an idle instance would test nothing (a
 * gateway may keep all its streams on one of two instances).
 */
export async function busiest(cluster: Cluster, service: ServiceName, sampleMs: number): Promise<string> {
  const pids = () => new Map(cluster.instanceInfo().filter((i) => i.service === service && i.alive).map((i) => [i.name, i.pid]));
  const before = new Map([...pids()].map(([name, pid]) => [name, cpuTicks(pid)]));
  await sleep(sampleMs);
  let best: { name: string; used: number } | undefined;
  for (const [name, pid] of pids()) {
    const used = cpuTicks(pid) - (before.get(name) ?? 0);
    if (!best || used > best.used) best = { name, used };
  }
  if (!best) throw new Error(`no running ${service}`);
  return best.name;
}
