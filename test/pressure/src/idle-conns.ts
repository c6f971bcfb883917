// --mode idle-conns: what an idle, logged-in connection costs a gateway.
// `conns` users log in (`concurrency` at a time), each on its own connection
// from one of the source addresses, placed on the gateways as /msg_server
// would place them; then every connection stays idle for the hold time, the
// client sending CID_OTHER_HEARTBEAT every 30 s as TeamTalk's does. The
// gateways' VmRSS is read before, once all are connected, and after the hold;
// a gateway with an inspector (spawned for the bench) is also read after a
// forced full GC (V8 heap used, external, ArrayBuffers), which the login
// burst's garbage does not inflate, and its heap snapshots can be written.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { TeamTalkClient, isClientError } from '@tiertalk/client';
import { parseVmRssBytes } from './group-stats';
import { fdLimitProblem, maxPerSourceAndGateway, parseOpenFilesLimit, placeConnections } from './idle-conns-plan';
import type { GatewayAddr, PressureOptions } from './options';
import { userNames } from './options';
import { mapLimit, sleep } from './run';
import { GatewayInspector, type GatewayMemory } from './gateway-inspector';

/** TeamTalk's CLIENT_HEARTBEAT_INTERVAL (also the client library's default). */
export const CLIENT_HEARTBEAT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 15_000;
const SHOWN = 5;
/**
 * Logins per gateway before the first reading (connected, logged in, closed):
 * code V8 compiles and caches filled by the first logins are then in the
 * baseline, not counted as per connection.
 */
export const WARMUP_LOGINS_PER_GATEWAY = 100;

export interface IdleGateway {
  name: string;
  addr: GatewayAddr;
  /** Its process id when the tool spawned it (RSS is read from /proc). */
  pid(): number | undefined;
  /** Its V8 inspector's loopback port when the tool spawned it with one. */
  inspectPort(): number | undefined;
}

export interface IdleGatewayResult {
  name: string;
  /** Connections logged in on it and open once connecting was over. */
  heldConnected: number;
  /** Connections logged in on it and still open at the end of the hold. */
  held: number;
  rssBeforeKiB: number | undefined;
  rssConnectedKiB: number | undefined;
  rssAfterKiB: number | undefined;
  /** process.memoryUsage() after a forced full GC, with an inspector: before, connected, after the hold. */
  gcBefore?: GatewayMemory;
  gcConnected?: GatewayMemory;
  gcAfter?: GatewayMemory;
}

/** Heap snapshots of one gateway (--heap-snapshot), before the first connection and at the end of the hold. */
export interface HeapSnapshotFiles {
  gateway: string;
  before: string;
  held: string;
  /** Connections open on that gateway when `held` was taken. */
  conns: number;
}

export interface IdleConnsSummary {
  conns: number;
  sourceAddrs: string[];
  concurrency: number;
  /** Largest number of connections one source address has on one gateway. */
  maxPerSourceAndGateway: number;
  loggedIn: number;
  connectSec: number;
  holdSec: number;
  heartbeatMs: number;
  /** Connect and login failures, by code. */
  errors: Record<string, number>;
  /** Logged-in connections lost before the end of the hold: closed by the server, or a heartbeat unanswered for the request timeout. */
  dropped: number;
  gateways: IdleGatewayResult[];
  /** The first few failures, for the terminal. */
  samples: string[];
  /** 1, 5 and 15 min load average when the run started (others' work on a shared machine shows here). */
  loadAverage: number[];
}

export interface IdleConnsResult {
  summary: IdleConnsSummary;
  scenario: string;
  interrupted: string | undefined;
  toolCpuPercent: number;
  snapshots: HeapSnapshotFiles | undefined;
}

export interface IdleConnsEnv {
  opts: PressureOptions;
  gateways: IdleGateway[];
  out(line: string): void;
  warn(line: string): void;
  stop: AbortSignal;
}

function rssKiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const bytes = parseVmRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return bytes === undefined ? undefined : bytes / 1024;
  } catch {
    return undefined; // the process is gone
  }
}

function failedCount(errors: Record<string, number>): number {
  return Object.values(errors).reduce((a, n) => a + n, 0);
}

function errorCode(err: unknown): string {
  if (isClientError(err)) return err.code;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'ERROR';
}

/** Logs the first users in and closes them again (WARMUP_LOGINS_PER_GATEWAY); failures only show in the main run. */
async function warmUp(env: IdleConnsEnv, placements: ReturnType<typeof placeConnections>, names: string[]): Promise<void> {
  const o = env.opts;
  await mapLimit(placements, o.concurrency, async (p, i) => {
    const gw = env.gateways[p.gateway];
    let client: TeamTalkClient | undefined;
    try {
      client = await TeamTalkClient.connect({ host: gw.addr.host, port: gw.addr.port, localAddress: o.sourceAddrs[p.source], connectTimeoutMs: CONNECT_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS });
      await client.login(names[i], o.password);
    } catch {
      // counted in the main run, which logs the same users in again
    } finally {
      client?.close();
    }
  });
}

export async function runIdleConns(env: IdleConnsEnv): Promise<IdleConnsResult> {
  const o = env.opts;
  const fdProblem = fdLimitProblem(o.conns, parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8')));
  if (fdProblem) throw new Error(fdProblem);
  const names = userNames(o.usersPrefix, o.conns);
  const placements = placeConnections(o.conns, env.gateways.map((g) => g.name), o.sourceAddrs.length);
  const loadAverage = loadavg();
  const cpuAtStart = process.cpuUsage();
  const t0 = performance.now();

  const inspectors = await Promise.all(env.gateways.map(async (g) => {
    const port = g.inspectPort();
    return port === undefined ? undefined : GatewayInspector.open(port);
  }));
  const afterGc = (): Promise<(GatewayMemory | undefined)[]> => Promise.all(inspectors.map((i) => i?.memoryAfterGc()));
  const snapshotDir = o.heapSnapshotDir;
  const snapshotOf = inspectors[0];
  if (snapshotDir !== undefined) {
    if (!snapshotOf) throw new Error('--heap-snapshot: the first gateway has no inspector');
    mkdirSync(snapshotDir, { recursive: true });
  }
  const snapshotFile = (what: string): string => path.join(snapshotDir ?? '.', `${env.gateways[0].name}-${what}.heapsnapshot`);

  await warmUp(env, placements.slice(0, Math.min(o.conns, WARMUP_LOGINS_PER_GATEWAY * env.gateways.length)), names);
  const gcBefore = await afterGc();
  const rssBefore = env.gateways.map((g) => rssKiB(g.pid()));
  // Writing a snapshot grows that gateway's RSS for good: its RSS figures are then too high (the others' are not).
  if (snapshotDir !== undefined) await snapshotOf?.writeHeapSnapshot(snapshotFile('before'));
  const clients: (TeamTalkClient | undefined)[] = new Array(o.conns);
  const errors: Record<string, number> = {};
  const samples: string[] = [];
  let loggedIn = 0;
  let dropped = 0;
  let holding = true;

  const openPerGateway = (): number[] => {
    const open = env.gateways.map(() => 0);
    placements.forEach((p, i) => {
      if (clients[i] !== undefined) open[p.gateway] += 1;
    });
    return open;
  };

  const progress = setInterval(() => env.out(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${loggedIn}/${o.conns} logged in, ${failedCount(errors)} failed, ${dropped} dropped\n`), 5000);
  let connectSec = 0;
  let holdSec = 0;
  try {
    await mapLimit(placements, o.concurrency, async (p, i) => {
      if (env.stop.aborted) return;
      const gw = env.gateways[p.gateway];
      const localAddress = o.sourceAddrs[p.source];
      let client: TeamTalkClient | undefined;
      try {
        client = await TeamTalkClient.connect({
          host: gw.addr.host,
          port: gw.addr.port,
          localAddress,
          heartbeatMs: CLIENT_HEARTBEAT_MS,
          connectTimeoutMs: CONNECT_TIMEOUT_MS,
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
        });
        await client.login(names[i], o.password);
        client.on('close', (info) => {
          if (!holding || info.by === 'local') return;
          dropped += 1;
          clients[i] = undefined;
          if (samples.length < SHOWN) samples.push(`${names[i]} on ${gw.name} from ${localAddress}: ${info.by === 'peer' ? 'closed by the server' : 'failed'} (${info.reason})`);
        });
        clients[i] = client;
        loggedIn += 1;
      } catch (err) {
        client?.close();
        const code = errorCode(err);
        errors[code] = (errors[code] ?? 0) + 1;
        if (samples.length < SHOWN) samples.push(`${names[i]} on ${gw.name} from ${localAddress}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    connectSec = (performance.now() - t0) / 1000;
    const rssConnected = env.gateways.map((g) => rssKiB(g.pid()));
    const heldConnected = openPerGateway();
    const gcConnected = await afterGc();
    env.out(`  connected: ${loggedIn}/${o.conns} in ${connectSec.toFixed(1)} s; idle for ${o.durationSec} s\n`);
    const holdStart = performance.now();
    await sleep(o.durationSec * 1000, env.stop);
    holdSec = (performance.now() - holdStart) / 1000;
    const rssAfter = env.gateways.map((g) => rssKiB(g.pid()));
    const held = openPerGateway();
    const gcAfter = await afterGc();
    let snapshots: HeapSnapshotFiles | undefined;
    if (snapshotDir !== undefined) {
      await snapshotOf?.writeHeapSnapshot(snapshotFile('held'));
      snapshots = { gateway: env.gateways[0].name, before: snapshotFile('before'), held: snapshotFile('held'), conns: held[0] };
    }
    holding = false;

    const cpu = process.cpuUsage(cpuAtStart);
    const summary: IdleConnsSummary = {
      conns: o.conns,
      sourceAddrs: o.sourceAddrs,
      concurrency: o.concurrency,
      maxPerSourceAndGateway: maxPerSourceAndGateway(placements),
      loggedIn,
      connectSec,
      holdSec,
      heartbeatMs: CLIENT_HEARTBEAT_MS,
      errors,
      dropped,
      gateways: env.gateways.map((g, k) => ({ name: g.name, heldConnected: heldConnected[k], held: held[k], rssBeforeKiB: rssBefore[k], rssConnectedKiB: rssConnected[k], rssAfterKiB: rssAfter[k],
        gcBefore: gcBefore[k],
        gcConnected: gcConnected[k],
        gcAfter: gcAfter[k],
      })),
      samples,
      loadAverage,
    };
    const scenario =
      `${o.conns} users each log in on a connection of their own (${o.concurrency} logins in flight) from ${o.sourceAddrs.join(', ')}, ` +
      `placed as /msg_server places them (least loaded gateway first) on ${env.gateways.map((g) => `${g.name} ${g.addr.host}:${g.addr.port}`).join(', ')}; ` +
      `after a warm-up of ${WARMUP_LOGINS_PER_GATEWAY} logins per gateway (logged in, then closed, before the first reading); then idle for ${o.durationSec} s with a heartbeat every ${CLIENT_HEARTBEAT_MS / 1000} s per connection; gateway VmRSS from /proc before, after connecting and after the idle time` +
      (inspectors.some((i) => i !== undefined) ? '; V8 heap used, external and ArrayBuffers after a full GC forced through the gateway\'s inspector at the same points' : '');
    return {
      summary,
      scenario,
      interrupted: env.stop.aborted ? 'stopped by signal' : undefined,
      toolCpuPercent: ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100,
      snapshots,
    };
  } finally {
    holding = false;
    clearInterval(progress);
    for (const c of clients) c?.close();
    for (const i of inspectors) i?.close();
  }
}
