// --mode logins: what a login costs the cluster. `concurrency` workers each
// loop: open a fresh TCP connection, send IMLoginReq for the next user
// (round-robin), wait for IMLoginRes, close. A share of the attempts carries a
// wrong password, which must be refused; every right one must be accepted.
// Measures logins/s and connect → IMLoginRes latency after a warm-up (in which
// every user logs in at least once, so one-off work such as rehashing a
// TeamTalk password is not what is measured).
import { performance } from 'node:perf_hooks';
import { cpuBetween, snapshotCpu, type CpuReading, type CpuUsage, type ProcessRef } from './proc-cpu';
import { TeamTalkClient, isClientError } from '@tiertalk/client';
import type { GatewayAddr } from './options';
import { userNames } from './options';
import type { RunEnv } from './run';

export interface LoginsSummary {
  users: number;
  concurrency: number;
  wrongRatio: number;
  wrongPasswords: 'same' | 'distinct';
  measuredSec: number;
  warmupSec: number;
  /** Measured period: answered attempts (accepted + refused as expected). */
  attempts: number;
  accepted: number;
  refusedAsExpected: number;
  /** A right password refused or a wrong one accepted (fails the run). */
  wrongAnswers: number;
  /** Connection or timeout errors, by code. */
  errors: Record<string, number>;
  latencyMs: { count: number; p50: number; p95: number; p99: number; max: number };
  /** The first few wrong answers / errors, for the terminal. */
  samples: string[];
  /** Spawned cluster: CPU ms each tier spent per measured login (all its processes; less noisy than logins/s on a busy machine). */
  cpuMsPerLogin: Record<string, number>;
  /** Spawned cluster: CPU of each process and the tool over the measured period, per answered login. */
  cpu?: CpuUsage;
}

export interface LoginsResult {
  summary: LoginsSummary;
  scenario: string;
  interrupted: string | undefined;
  toolCpuPercent: number;
}

const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;
const SHOWN = 5;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

type Outcome = { kind: 'accepted' } | { kind: 'refused'; text: string } | { kind: 'error'; code: string; text: string };

async function loginOnce(gw: GatewayAddr, user: string, password: string): Promise<Outcome> {
  let client: TeamTalkClient | undefined;
  try {
    client = await TeamTalkClient.connect({ host: gw.host, port: gw.port, heartbeatMs: 0, connectTimeoutMs: CONNECT_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    await client.login(user, password);
    return { kind: 'accepted' };
  } catch (err) {
    if (isClientError(err) && err.code === 'LOGIN_REFUSED') return { kind: 'refused', text: `${err.resultCode} ${err.resultString ?? ''}` };
    return { kind: 'error', code: isClientError(err) ? err.code : 'ERROR', text: err instanceof Error ? err.message : String(err) };
  } finally {
    client?.close();
  }
}

export async function runLogins(env: RunEnv, processes: () => readonly ProcessRef[] = () => []): Promise<LoginsResult> {
  const o = env.opts;
  if (env.endpoints.kind !== 'gateways') throw new Error('--mode logins needs --gateways or --spawn-cluster');
  const gateways = env.endpoints.gateways;
  const names = userNames(o.usersPrefix, o.users);
  const cpuAtStart = process.cpuUsage();
  const t0 = performance.now();
  const warmupEnd = t0 + o.warmupSec * 1000;
  // Set once the warm-up is over (its time has passed and every user logged in once).
  let measuredFrom = Infinity;
  let end = Infinity;

  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const samples: string[] = [];
  let accepted = 0;
  let refused = 0;
  let wrongAnswers = 0;
  let next = 0;
  let wrongSeq = 0;
  let warmedUp = 0;
  // Spread wrong attempts evenly: attempt i is wrong when floor((i+1)·r) > floor(i·r).
  const isWrongAttempt = (i: number): boolean => Math.floor((i + 1) * o.wrongRatio) > Math.floor(i * o.wrongRatio);

  const worker = async (w: number): Promise<void> => {
    while (!env.stop.aborted) {
      const started = performance.now();
      if (started >= end) return;
      const i = next++;
      const user = names[i % names.length];
      // Every user's first login (warm-up) is a right one.
      const wrong = i >= names.length && isWrongAttempt(i);
      const password = wrong ? (o.wrongPasswords === 'distinct' ? `guess-${wrongSeq++}` : 'stale-password') : o.password;
      const outcome = await loginOnce(gateways[(i + w) % gateways.length], user, password);
      if (i < names.length) warmedUp += 1;
      const measured = started >= measuredFrom && started < end;
      const bad = outcome.kind === 'error' || (outcome.kind === 'accepted') === wrong;
      if (bad && samples.length < SHOWN) samples.push(`${user} (${wrong ? 'wrong' : 'right'} password): ${outcome.kind === 'refused' ? `refused ${outcome.text}` : outcome.kind === 'error' ? outcome.text : 'accepted'}`);
      if (!measured) continue;
      if (outcome.kind === 'error') {
        errors[outcome.code] = (errors[outcome.code] ?? 0) + 1;
        continue;
      }
      if (bad) wrongAnswers += 1;
      else if (outcome.kind === 'accepted') accepted += 1;
      else refused += 1;
      latencies.push(performance.now() - started);
    }
  };
  let cpuAtMeasureStart: CpuReading[] = [];
  let cpuAtMeasureEnd: CpuReading[] | undefined;
  const endSampler = setInterval(() => {
    if (performance.now() >= end && cpuAtMeasureEnd === undefined) cpuAtMeasureEnd = snapshotCpu(processes());
  }, 10);
  const progress = setInterval(() => {
    env.out(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${accepted + refused} measured logins, ${warmedUp}/${names.length} users warmed up\n`);
  }, 5000);
  try {
    const waitWarm = (async () => {
      while ((warmedUp < names.length || performance.now() < warmupEnd) && !env.stop.aborted) await new Promise((r) => setTimeout(r, 20));
      measuredFrom = performance.now();
      end = measuredFrom + o.durationSec * 1000;
      cpuAtMeasureStart = snapshotCpu(processes());
    })();
    await Promise.all([waitWarm, ...Array.from({ length: o.concurrency }, (_, w) => worker(w))]);
  } finally {
    clearInterval(progress);
    clearInterval(endSampler);
  }
  cpuAtMeasureEnd ??= snapshotCpu(processes());
  const stoppedAt = Math.min(performance.now(), end);
  if (measuredFrom === Infinity) measuredFrom = stoppedAt;
  latencies.sort((a, b) => a - b);
  const cpu = process.cpuUsage(cpuAtStart);
  const summary: LoginsSummary = {
    users: names.length,
    concurrency: o.concurrency,
    wrongRatio: o.wrongRatio,
    wrongPasswords: o.wrongPasswords,
    measuredSec: Math.max(0, (stoppedAt - measuredFrom) / 1000),
    warmupSec: (measuredFrom - t0) / 1000,
    attempts: accepted + refused + wrongAnswers,
    accepted,
    refusedAsExpected: refused,
    wrongAnswers,
    errors,
    latencyMs: {
      count: latencies.length,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? 0,
    },
    samples,
    cpuMsPerLogin: {},
  };
  const measuredLogins = accepted + refused + wrongAnswers;
  const spent = cpuBetween(cpuAtMeasureStart, cpuAtMeasureEnd).filter((r) => r.service !== 'tool');
  if (measuredLogins > 0 && spent.length > 0) {
    for (const r of spent) summary.cpuMsPerLogin[r.service] = (summary.cpuMsPerLogin[r.service] ?? 0) + (r.seconds * 1000) / measuredLogins;
    summary.cpu = { rows: cpuBetween(cpuAtMeasureStart, cpuAtMeasureEnd), wallSec: summary.measuredSec, units: measuredLogins, unitName: 'login' };
  }
  const scenario =
    `${o.concurrency} logins in flight, each a fresh TCP connection + IMLoginReq → IMLoginRes, then close; ${names.length} users round-robin; ` +
    `${Math.round(o.wrongRatio * 100)} % of attempts with a wrong password (${o.wrongPasswords === 'same' ? "each user's one stale password" : 'a new guess each time'}); ` +
    `gateways ${gateways.map((g) => `${g.host}:${g.port}`).join(', ')}; warm-up ≥ ${o.warmupSec} s and until every user logged in once`;
  return {
    summary,
    scenario,
    interrupted: env.stop.aborted ? 'stopped by signal' : undefined,
    toolCpuPercent: ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100,
  };
}
