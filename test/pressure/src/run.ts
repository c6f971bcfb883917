// One pressure run: log in 2N clients, let every client send 1:1 messages to
// its partner for the duration, drain, and hand back the statistics.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { TeamTalkClient, isClientError, pickGateway } from '@tiertalk/client';
import { encodeBody, parseBody } from './body';
import { gatewayForClient, pairAcrossGateways } from './pairing';
import type { GatewayAddr, PressureOptions } from './options';
import { userNames } from './options';
import { cpuBetween, snapshotCpu, type CpuUsage, type CpuReading, type ProcessRef } from './proc-cpu';
import { PressureStats, type IntervalLatency, type SecondSample, type StatsSummary } from './stats';
import { readGatewayRefusals, refusalsBetween } from './gateway-refusals';

/** docs/FLOWS.md §3: TeamTalk's gateway drops IMMsgData beyond this per connection and second. */
export const TEAMTALK_MSG_RATE_PER_CONN = 20;

export type Endpoints = { kind: 'gateways'; gateways: GatewayAddr[] } | { kind: 'login'; loginUrl: string };

export interface RunEnv {
  opts: PressureOptions;
  endpoints: Endpoints;
  /** Progress lines (stdout). */
  out(line: string): void;
  /** Warnings (stderr). */
  warn(line: string): void;
  /** Aborted: stop sending now, then drain and report. */
  stop: AbortSignal;
  /** Aborted: skip waiting for ACKs and deliveries. */
  hurry: AbortSignal;
  /** A spawned cluster's service processes: their CPU over the measured period is reported. */
  clusterProcesses?: () => ProcessRef[];
}

export interface RunResult {
  stats: StatsSummary;
  /** Seconds the measured sending phase actually ran (warm-up excluded). */
  sendingSec: number;
  /** Seconds the warm-up actually ran (0 = none). */
  warmupSec: number;
  interrupted: string | undefined;
  /** Where the clients went, pairs across gateways, load model. */
  scenario: string;
  disconnects: number;
  kicks: number;
  /** CPU this process used while sending and draining, in % of one core (is the tool the bottleneck?). */
  toolCpuPercent: number;
  /** With env.clusterProcesses: CPU of each process (and the tool) over the measured period, per delivered message. */
  cpu?: CpuUsage;
  /** With env.clusterProcesses: why the gateways answered sends with msg_id 0 (reason → count), warm-up included. */
  gatewayRefusals?: Map<string, number>;
}

const CONNECT_CONCURRENCY = 32;
const SCHEDULER_TICK_MS = 5;
const QUIET_MS = 1000;

export interface Peer {
  client: TeamTalkClient;
  userId: number;
  gateway: string;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs fn over items, `limit` at a time; after the first failure starts no more and rethrows it once all running calls are done. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (err) {
        failure ??= { err };
      }
    }
  });
  await Promise.all(workers);
  if (failure) throw failure.err;
}

/** /msg_server answering "no msg server" (a gateway's registration lapsed under load): a client asks again, this often, this far apart. */
const NO_MSG_SERVER_TRIES = 10;
const NO_MSG_SERVER_RETRY_MS = 1000;

export async function pickGatewayRetrying(loginUrl: string, stop: AbortSignal): Promise<Awaited<ReturnType<typeof pickGateway>>> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await pickGateway(loginUrl);
    } catch (err) {
      if (!(isClientError(err) && err.code === 'NO_MSG_SERVER') || attempt >= NO_MSG_SERVER_TRIES || stop.aborted) throw err;
      await sleep(NO_MSG_SERVER_RETRY_MS, stop);
    }
  }
}

async function addressFor(env: RunEnv, index: number): Promise<GatewayAddr> {
  if (env.endpoints.kind === 'gateways') return env.endpoints.gateways[gatewayForClient(index, env.endpoints.gateways.length)];
  const g = await pickGatewayRetrying(env.endpoints.loginUrl, env.stop);
  if (env.opts.transport === 'tcp') return { host: g.host, port: g.port };
  const wsPort = Number(g.raw.wsPort);
  if (!Number.isInteger(wsPort) || wsPort <= 0) throw new Error('the login server gives no wsPort; use --gateways host:wsPort with --transport ws');
  return { host: g.host, port: wsPort };
}

/** Logs every name in; `slot(i)` picks the gateway of names[i] (explicit gateways: see gatewayForClient). */
export async function loginAll(env: RunEnv, names: string[], slot: (i: number) => number = (i) => i): Promise<Peer[]> {
  const peers: (Peer | undefined)[] = [];
  try {
    await mapLimit(names, CONNECT_CONCURRENCY, async (name, i) => {
      if (env.stop.aborted) throw new Error('interrupted while logging in');
      const addr = await addressFor(env, slot(i));
      const client = await TeamTalkClient.connect({
        host: addr.host,
        port: addr.port,
        transport: env.opts.transport,
        requestTimeoutMs: env.opts.ackTimeoutMs,
        // Duplicates are what we measure: see every copy.
        suppressDuplicates: false,
      });
      peers[i] = { client, userId: 0, gateway: `${addr.host}:${addr.port}` };
      try {
        const res = await client.login(name, env.opts.password);
        peers[i] = { client, userId: res.userId, gateway: `${addr.host}:${addr.port}` };
      } catch (err) {
        throw new Error(`login of ${name} at ${addr.host}:${addr.port} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    });
  } catch (err) {
    for (const p of peers) p?.client.close();
    throw err;
  }
  return peers.map((p, i) => {
    if (!p) throw new Error(`client ${i} missing after login`);
    return p;
  });
}

function describe(env: RunEnv, peers: Peer[], partner: readonly number[]): string {
  const o = env.opts;
  const perGateway = new Map<string, number>();
  for (const p of peers) perGateway.set(p.gateway, (perGateway.get(p.gateway) ?? 0) + 1);
  let cross = 0;
  peers.forEach((p, i) => {
    if (i < partner[i] && p.gateway !== peers[partner[i]].gateway) cross += 1;
  });
  const senders = peers.length;
  const load =
    o.rate > 0
      ? `open loop, ${o.rate} msg/s in total (${(o.rate / senders).toFixed(1)}/s per client)`
      : `closed loop, window ${o.window} unACKed per client`;
  const where = env.endpoints.kind === 'login' ? `via login server ${env.endpoints.loginUrl}` : 'explicit gateways';
  const gws = [...perGateway.entries()].map(([g, n]) => `${g} (${n})`).join(', ');
  return (
    `${o.pairs} pairs = ${senders} clients over ${o.transport}, each sending to its partner; ${where}: ${gws}; ` +
    `${cross}/${o.pairs} pairs span two gateways; ${load}; ` +
    `${o.warmupSec > 0 ? `${o.warmupSec} s warm-up + ` : ''}${o.durationSec} s measured + drain ≤ ${o.drainSec} s; ` +
    `body ${o.size > 0 ? `${o.size} B` : '~40 B'}; ACK timeout ${o.ackTimeoutMs} ms`
  );
}

/** One second's line; the p99s are of that second's ACKs and deliveries only. */
export function progressLine(s: SecondSample, lat: IntervalLatency): string {
  const t = `${s.second}s`.padStart(5);
  const phase = s.warmup ? ' warmup' : s.draining ? ' drain' : '';
  const p99 = (count: number, v: number): string => (count === 0 ? '–' : `${v.toFixed(2)} ms`);
  return (
    `[${t}${phase}] sent ${s.sent}/s  acked ${s.acked}/s  delivered ${s.delivered}/s  ` +
    `in-flight ${s.inFlight}  p99 ack ${p99(lat.ackCount, lat.ackP99Ms)}  p99 delivery ${p99(lat.deliveryCount, lat.deliveryP99Ms)}\n`
  );
}

export async function runPressure(env: RunEnv): Promise<RunResult> {
  const o = env.opts;
  const senders = o.pairs * 2;
  if (o.rate / senders > TEAMTALK_MSG_RATE_PER_CONN) {
    env.warn(
      `note: ${(o.rate / senders).toFixed(1)} msg/s per connection exceeds TeamTalk's ${TEAMTALK_MSG_RATE_PER_CONN}/s limit ` +
        `(docs/FLOWS.md §3); a gateway enforcing it (TT_MSG_RATE_PER_SEC) drops the excess and they count as failed`,
    );
  }
  const names = userNames(o.usersPrefix, senders);
  const peers = await loginAll(env, names);
  // With explicit gateways the pairs (2i, 2i+1) already span two of them.
  const partner =
    env.endpoints.kind === 'login' ? pairAcrossGateways(peers.map((p) => p.gateway)) : peers.map((_, i) => i ^ 1);
  const scenario = describe(env, peers, partner);
  env.out(`logged in ${peers.length} clients; ${scenario}\n`);

  const runId = randomBytes(4).toString('hex');
  const stats = new PressureStats(senders);
  const nextSeq = new Array<number>(senders).fill(0);
  const inFlight = new Array<number>(senders).fill(0);
  let sending = true;
  let finishing = false;
  let disconnects = 0;
  let kicks = 0;
  let lastDeliveryAt = performance.now();

  peers.forEach((p, r) => {
    p.client.on('message', (msg) => {
      const at = performance.now();
      const f = parseBody(msg.msgData);
      const from = partner[r];
      if (!f || f.runId !== runId || f.sender !== from || msg.fromUserId !== peers[from].userId || msg.toSessionId !== p.userId) {
        stats.recordMisrouted();
        return;
      }
      lastDeliveryAt = at;
      stats.recordDelivery(f.sender, f.seq, f.sentAtMs, at);
    });
    p.client.on('kick', () => {
      kicks += 1;
      env.warn(`${names[r]} was kicked`);
    });
    p.client.on('error', (err) => env.warn(`${names[r]}: ${err.code}: ${err.message}`));
    p.client.on('close', (info) => {
      if (finishing) return;
      disconnects += 1;
      env.warn(`${names[r]} disconnected (${info.by}): ${info.reason}`);
    });
  });

  const send = (s: number): boolean => {
    const { client } = peers[s];
    if (client.isClosed) return false;
    const seq = nextSeq[s]++;
    const at = performance.now();
    stats.recordSend(s, seq, at);
    inFlight[s] += 1;
    client
      .sendText(peers[partner[s]].userId, encodeBody({ runId, sender: s, seq, sentAtMs: at }, o.size))
      .then(
        () => {
          stats.recordAck(s, seq, performance.now());
          inFlight[s] -= 1;
          pump(s);
        },
        (err: unknown) => {
          stats.recordFailure(s, seq, isClientError(err) ? err.code : 'ERROR');
          inFlight[s] -= 1;
          // Immediate failures (closed, seq exhausted) must not spin the microtask queue.
          setTimeout(() => pump(s), 10);
        },
      );
    return true;
  };

  // Closed loop (--rate 0): keep `window` messages unACKed per sender.
  const pump = (s: number): void => {
    if (o.rate > 0) return;
    while (sending && inFlight[s] < o.window) if (!send(s)) return;
  };

  const refusalsFrom = env.clusterProcesses ? await readGatewayRefusals(env.clusterProcesses()) : undefined;
  if (o.warmupSec > 0) stats.startWarmup();
  const cpuAtStart = process.cpuUsage();
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  // A second is "draining" when it starts after sending stopped, "warm-up"
  // when it starts before the measured period.
  let sendingEnd: number | undefined;
  let warmupEnd: number | undefined = o.warmupSec > 0 ? o.warmupSec : undefined;
  const draining = (): boolean => sendingEnd !== undefined && stats.secondsRolled >= Math.round(sendingEnd);
  const inWarmup = (): boolean => warmupEnd !== undefined && stats.secondsRolled < Math.round(warmupEnd);
  // Buckets follow the clock from t0, not a drifting setInterval: on a busy
  // machine the tick comes late but the next one is not pushed back.
  let progress: NodeJS.Timeout | undefined;
  const scheduleTick = (): void => {
    const nextAt = t0 + (stats.secondsRolled + 1) * 1000;
    progress = setTimeout(() => {
      env.out(progressLine(stats.rollSecond(draining(), inWarmup()), stats.lastInterval));
      scheduleTick();
    }, Math.max(0, nextAt - performance.now()));
  };
  scheduleTick();

  let scheduler: NodeJS.Timeout | undefined;
  if (o.rate > 0) {
    // Open loop: each sender's n-th message is due at (n - phase) / rate, phases
    // spread so the senders do not fire together.
    const perSender = o.rate / senders;
    scheduler = setInterval(() => {
      const t = elapsed();
      for (let s = 0; s < senders && sending; s += 1) {
        const due = Math.floor(perSender * t + s / senders);
        while (nextSeq[s] < due && sending) if (!send(s)) break;
      }
    }, SCHEDULER_TICK_MS);
  } else {
    for (let s = 0; s < senders; s += 1) pump(s);
  }

  if (o.warmupSec > 0) {
    await sleep(o.warmupSec * 1000, env.stop);
    warmupEnd = elapsed();
  }
  const warmupSec = elapsed();
  const stoppedInWarmup = env.stop.aborted;
  stats.startMeasuring();
  const cpuFrom: { at: number; readings: CpuReading[] } | undefined = env.clusterProcesses ? { at: performance.now(), readings: snapshotCpu(env.clusterProcesses()) } : undefined;
  if (!stoppedInWarmup) await sleep(o.durationSec * 1000, env.stop);
  sending = false;
  stats.stopMeasuring();
  const cpuTo = cpuFrom && env.clusterProcesses ? { at: performance.now(), readings: snapshotCpu(env.clusterProcesses()) } : undefined;
  if (scheduler) clearInterval(scheduler);
  sendingEnd = elapsed();
  const sendingSec = sendingEnd - warmupSec;
  const interrupted = env.stop.aborted
    ? `stopped by signal after ${sendingEnd.toFixed(1)} s${stoppedInWarmup ? ' (during the warm-up: nothing measured)' : ''}`
    : undefined;

  // Every send settles by its ACK timeout; then give deliveries the drain time.
  const ackDeadline = performance.now() + o.ackTimeoutMs + 1000;
  while (stats.inFlight > 0 && performance.now() < ackDeadline && !env.hurry.aborted) await sleep(50, env.hurry);
  const drainDeadline = performance.now() + o.drainSec * 1000;
  while (performance.now() < drainDeadline && !env.hurry.aborted) {
    if (stats.undelivered === 0 && performance.now() - lastDeliveryAt >= QUIET_MS) break;
    await sleep(50, env.hurry);
  }
  clearTimeout(progress);
  const last = stats.rollPartialSecond(draining(), inWarmup());
  if (last) env.out(progressLine(last, stats.lastInterval));

  const cpu = process.cpuUsage(cpuAtStart);
  const toolCpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100;
  finishing = true;
  await Promise.allSettled(
    peers.map(async ({ client }) => {
      if (client.isClosed) return;
      const timer = setTimeout(() => client.close('logout timed out'), 5000);
      try {
        await client.logout();
      } finally {
        clearTimeout(timer);
        client.close();
      }
    }),
  );

  const gatewayRefusals = refusalsFrom && env.clusterProcesses ? refusalsBetween(refusalsFrom, await readGatewayRefusals(env.clusterProcesses())) : undefined;
  const summary = stats.summary();
  const cpuUsage: CpuUsage | undefined =
    cpuFrom && cpuTo
      ? { rows: cpuBetween(cpuFrom.readings, cpuTo.readings), wallSec: (cpuTo.at - cpuFrom.at) / 1000, units: summary.measured.delivered, unitName: 'delivered message' }
      : undefined;
  return { stats: summary, sendingSec, warmupSec: o.warmupSec > 0 ? warmupSec : 0, interrupted, scenario, disconnects, kicks, toolCpuPercent, cpu: cpuUsage, gatewayRefusals };
}
