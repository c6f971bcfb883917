#!/usr/bin/env node
// CLI of the pressure tool: options, optional cluster and users, the run (or
// the scenarios of --scenarios, in sequence against one cluster), the report. The first Ctrl-C stops sending and still reports; the second skips
// the drain; a spawned cluster is stopped in every case.
import path from 'node:path';
import { runOffline } from './offline';
import { formatOfflineSummary, offlineVerdict, renderOfflineSection } from './offline-report';
import { USAGE, UsageError, parseOptions, userNames, type PressureOptions } from './options';
import { formatSummary, redactArgs, renderSection, verdictOf } from './report';
import { EXIT_OK, EXIT_SETUP, reportRun, type FinishedRun, type RunContext } from './report-run';
import { cpuLine } from './proc-cpu';
import { runPressure, type Endpoints } from './run';
import { loadScenarios, scenarioRuns } from './scenarios';
import { clusterSettings, needsOtherCluster } from './cluster-settings';
import type { SpawnedCluster } from './spawn-cluster';
import { ensureUsers } from './users';
import { runGroupOne } from './group-main';
import { closeGroupPeers } from './group-run';
import { runLogins } from './logins';
import { formatLoginsSummary, loginsVerdict, renderLoginsSection } from './logins-report';
import { runIdleConns, type IdleGateway } from './idle-conns';
import { formatIdleConnsSummary, idleConnsVerdict, renderIdleConnsSection } from './idle-conns-report';
import { formatBreakdown, perConnectionBreakdown, readHeapSnapshotSummary } from './heap-snapshot-summary';


function out(s: string): void {
  process.stdout.write(s);
}
function warn(s: string): void {
  process.stderr.write(s.endsWith('\n') ? s : `${s}\n`);
}

function commandLine(argv: string[]): string {
  const script = path.relative(process.cwd(), process.argv[1] ?? 'test/pressure/dist/main.js') || 'main.js';
  return redactArgs(['node', script, ...argv]);
}

async function prepare(opts: PressureOptions, names: string[], cluster: SpawnedCluster | undefined): Promise<Endpoints> {
  if (cluster) {
    const r = await ensureUsers(cluster.mysqlUrl, names, opts.password);
    out(`users: ${r.created} created, ${r.existing} present\n`);
    if (opts.viaLogin) return { kind: 'login', loginUrl: cluster.loginUrl };
    return { kind: 'gateways', gateways: cluster.gateways.map((g) => (opts.transport === 'ws' ? g.ws : g.tcp)) };
  }
  if (opts.createUsers !== undefined) {
    const r = await ensureUsers(opts.createUsers, names, opts.password);
    out(`users: ${r.created} created, ${r.existing} present\n`);
  }
  return opts.gateways ? { kind: 'gateways', gateways: opts.gateways } : { kind: 'login', loginUrl: opts.loginUrl };
}

/** Pause between scenarios, after the previous one's ACKs and deliveries have drained. */
const SCENARIO_PAUSE_MS = 2000;

interface PlannedRun {
  opts: PressureOptions;
  /** --scenarios mode: the scenario's own options (for the report). */
  scenarioArgs?: string;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function plan(argv: string[], opts: PressureOptions): PlannedRun[] {
  if (opts.scenarios === undefined) return [{ opts }];
  const { scenarios, source } = loadScenarios(opts.scenarios);
  return scenarioRuns(argv, scenarios, source).map((r) => ({ opts: r.opts, scenarioArgs: redactArgs(r.scenario.args) }));
}

async function main(argv: string[]): Promise<number> {
  // `... | head` closes stdout early; that must not crash the run (and its cluster cleanup).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') warn(`stdout: ${err.message}`);
  });
  let parsed: ReturnType<typeof parseOptions>;
  let runs: PlannedRun[];
  try {
    parsed = parseOptions(argv);
    if ('help' in parsed) {
      out(USAGE);
      return EXIT_OK;
    }
    runs = plan(argv, parsed);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    warn(err.problems.join('\n'));
    warn(USAGE);
    return EXIT_SETUP;
  }
  for (const w of new Set(runs.flatMap((r) => r.opts.warnings))) warn(`warning: ${w}`);

  const stop = new AbortController();
  const hurry = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals += 1;
    if (signals === 1) {
      warn(`stopping: finishing the run and reporting${runs.length > 1 ? ', skipping the remaining scenarios' : ''} (Ctrl-C again to skip waiting for deliveries)`);
      stop.abort();
    } else if (signals === 2) {
      warn('skipping the drain');
      hurry.abort();
    } else {
      warn('aborting');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let cluster: SpawnedCluster | undefined;
  let code = EXIT_OK;
  try {
    if (parsed.spawnCluster) {
      out('starting a cluster (testkit)...\n');
      const { spawnCluster } = await import('./spawn-cluster');
      // idle-conns reads the gateways' memory after a forced GC through their inspector (clusterSettings).
      cluster = await spawnCluster(clusterSettings(runs[0].opts));
      out(`cluster up: login ${cluster.loginUrl}, gateways ${cluster.gateways.map((g) => g.name).join(', ')}\n`);
    }
    for (const [i, run] of runs.entries()) {
      if (stop.signal.aborted) {
        warn(`skipped: ${runs.slice(i).map((r) => r.opts.label).join(', ')}`);
        break;
      }
      if (runs.length > 1) {
        if (i > 0) await sleep(SCENARIO_PAUSE_MS, stop.signal);
        out(`\n=== scenario ${i + 1}/${runs.length}: ${run.opts.label} (${run.scenarioArgs ?? ''}) ===\n`);
      }
      try {
        // Group members stay logged in only from one group scenario to the next: another scenario may log in the same users.
        if (run.opts.mode !== 'group') await closeGroupPeers();
        if (cluster && needsOtherCluster(cluster.config, run.opts)) {
          // Flood control and group push control are the gateways' start-up config: this scenario gets a cluster of its own.
          const settings = clusterSettings(run.opts);
          out(`restarting the cluster with TT_MSG_RATE_PER_SEC=${settings.msgRatePerSec}, TT_GROUP_PUSH_CONTROL=${settings.groupPushControl}...\n`);
          await closeGroupPeers();
          await cluster.stop();
          cluster = undefined;
          const { spawnCluster } = await import('./spawn-cluster');
          cluster = await spawnCluster(settings);
        }
        code = Math.max(code, await runOne(argv, run, cluster, stop.signal, hurry.signal));
      } catch (err) {
        // A scenario that cannot even start (login refused, ...) does not keep the others from running.
        warn(`pressure${runs.length > 1 ? ` (${run.opts.label})` : ''}: ${err instanceof Error ? err.message : String(err)}`);
        code = EXIT_SETUP;
      }
    }
    return code;
  } catch (err) {
    warn(`pressure: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT_SETUP;
  } finally {
    await closeGroupPeers().catch((err: unknown) => warn(`logging out the group members failed: ${err instanceof Error ? err.message : String(err)}`));
    if (cluster) {
      out('stopping the cluster...\n');
      await cluster.stop().catch((err: unknown) => warn(`cluster stop failed: ${err instanceof Error ? err.message : String(err)}`));
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** One run (or scenario): users, load, then reportRun (summary, report section, plot point). Returns its exit code. */
async function runOne(argv: string[], run: PlannedRun, cluster: SpawnedCluster | undefined, stop: AbortSignal, hurry: AbortSignal): Promise<number> {
  const { opts } = run;
  const ctx: RunContext = { opts, command: commandLine(argv), scenarioArgs: run.scenarioArgs, clusterDescription: cluster?.description, out };
  if (opts.mode === 'group') return reportRun(ctx, await runGroupOne({ opts, cluster, out, warn, stop, hurry }));
  const names = userNames(opts.usersPrefix, opts.mode === 'logins' ? opts.users : opts.mode === 'idle-conns' ? opts.conns : opts.pairs * 2);
  const endpoints = await prepare(opts, names, cluster);
  if (stop.aborted) return EXIT_SETUP;
  const env = { opts, endpoints, out, warn, stop, hurry };
  switch (opts.mode) {
    case 'logins':
      return reportRun(ctx, await loginsRun(env, cluster));
    case 'idle-conns':
      return reportRun(ctx, await idleConnsRun(env, cluster));
    case 'offline':
      return reportRun(ctx, await offlineRun(env));
    case 'live':
      return reportRun(ctx, await liveRun(env, cluster));
  }
}

type ModeEnv = Parameters<typeof runPressure>[0];

async function liveRun(env: ModeEnv, cluster: SpawnedCluster | undefined): Promise<FinishedRun> {
  const { opts } = env;
  const result = await runPressure({ ...env, clusterProcesses: cluster ? () => cluster.processes() : undefined });
  const verdict = verdictOf(result.stats);
  const s = result.stats;
  const notes: string[] = [];
  if (result.cpu) notes.push(`${cpuLine(result.cpu)}\n`);
  if (result.disconnects > 0 || result.kicks > 0) notes.push(`unexpected disconnects ${result.disconnects}, kicks ${result.kicks}\n`);
  const perSec = (n: number): number => (result.sendingSec > 0 ? n / result.sendingSec : 0);
  return {
    result,
    verdict,
    summary: formatSummary(s, result.sendingSec, verdict, result.warmupSec, result.gatewayRefusals) + notes.join(''),
    render: (meta) =>
      renderSection({ ...meta, sendingSec: result.sendingSec, warmupSec: result.warmupSec, stats: s, verdict, cpu: result.cpu, gatewayRefusals: result.gatewayRefusals }),
    // A closed loop (--rate 0) offers no fixed load: not a point against offered load.
    point:
      opts.rate > 0
        ? {
            kind: '1:1',
            offered: opts.rate,
            acked: perSec(s.measured.acked),
            delivered: perSec(s.measured.delivered),
            ackP99Ms: s.ackLatency.p99,
            deliveryP99Ms: s.deliveryLatency.p99,
            lost: s.lost,
            duplicated: s.duplicated,
          }
        : undefined,
  };
}

async function loginsRun(env: ModeEnv, cluster: SpawnedCluster | undefined): Promise<FinishedRun> {
  const result = await runLogins({ ...env, hurry: env.stop }, () => cluster?.processes() ?? []);
  const verdict = loginsVerdict(result.summary);
  return {
    result,
    verdict,
    summary: formatLoginsSummary(result.summary, verdict),
    render: (meta) => renderLoginsSection({ ...meta, toolCpuPercent: result.toolCpuPercent, summary: result.summary, verdict }),
  };
}

/** The gateways of an idle-conns run; a spawned cluster's with their pids (for VmRSS). */
function idleGateways(cluster: SpawnedCluster | undefined, endpoints: Endpoints): IdleGateway[] {
  if (cluster) {
    const processOf = (name: string): ReturnType<SpawnedCluster['processes']>[number] | undefined => cluster.processes().find((p) => p.name === name);
    return cluster.gateways.map((g) => ({ name: g.name, addr: g.tcp, pid: () => processOf(g.name)?.pid, inspectPort: () => processOf(g.name)?.inspectPort }));
  }
  if (endpoints.kind !== 'gateways') throw new Error('--mode idle-conns needs --gateways or --spawn-cluster');
  return endpoints.gateways.map((addr) => ({ name: `${addr.host}:${addr.port}`, addr, pid: () => undefined, inspectPort: () => undefined }));
}

async function idleConnsRun(env: ModeEnv, cluster: SpawnedCluster | undefined): Promise<FinishedRun> {
  const result = await runIdleConns({ opts: env.opts, gateways: idleGateways(cluster, env.endpoints), out, warn, stop: env.stop });
  const verdict = idleConnsVerdict(result.summary);
  const snaps = result.snapshots;
  const heapBreakdown = snaps && {
    gateway: snaps.gateway,
    conns: snaps.conns,
    rows: perConnectionBreakdown(readHeapSnapshotSummary(snaps.before), readHeapSnapshotSummary(snaps.held), snaps.conns),
  };
  const breakdownText = heapBreakdown
    ? `heap per connection on ${heapBreakdown.gateway} (snapshots ${snaps?.before}, ${snaps?.held}):\n${formatBreakdown(heapBreakdown.rows)}\n`
    : '';
  return {
    result,
    verdict,
    summary: formatIdleConnsSummary(result.summary, verdict) + breakdownText,
    render: (meta) => renderIdleConnsSection({ ...meta, toolCpuPercent: result.toolCpuPercent, summary: result.summary, verdict, heapBreakdown }),
  };
}

/** --mode offline: the store and pull phases. */
async function offlineRun(env: ModeEnv): Promise<FinishedRun> {
  const result = await runOffline(env);
  const verdict = offlineVerdict(result.summary);
  for (const e of result.pullErrors) warn(`pull failed: ${e}`);
  return {
    result,
    verdict,
    summary: formatOfflineSummary(result.summary, verdict),
    render: (meta) => renderOfflineSection({ ...meta, summary: result.summary, verdict }),
  };
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    warn(`pressure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = EXIT_SETUP;
  },
);
