#!/usr/bin/env node
// CLI of the pressure tool: options, optional cluster and users, the run (or
// the scenarios of --scenarios, in sequence against one cluster), the report. The first Ctrl-C stops sending and still reports; the second skips
// the drain; a spawned cluster is stopped in every case.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { machineInfo } from './machine';
import { runOffline } from './offline';
import { formatOfflineSummary, offlineVerdict, renderOfflineSection } from './offline-report';
import { USAGE, UsageError, parseOptions, userNames, type PressureOptions } from './options';
import { formatSummary, redactArgs, renderSection, upsertSection, verdictOf } from './report';
import { runPressure, type Endpoints } from './run';
import { loadScenarios, scenarioRuns } from './scenarios';
import type { SpawnedCluster } from './spawn-cluster';
import { ensureUsers } from './users';
import { runGroupOne } from './group-main';
import { closeGroupPeers } from './group-run';
import { runLogins } from './logins';
import { formatLoginsSummary, loginsVerdict, renderLoginsSection } from './logins-report';
import { runIdleConns, type IdleGateway } from './idle-conns';
import { formatIdleConnsSummary, idleConnsVerdict, renderIdleConnsSection } from './idle-conns-report';
import { formatBreakdown, perConnectionBreakdown, readHeapSnapshotSummary } from './heap-snapshot-summary';

const EXIT_OK = 0;
const EXIT_BAD_MESSAGES = 1;
const EXIT_SETUP = 2;

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
  const cli = parsed;
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
    if (cli.spawnCluster) {
      out('starting a cluster (testkit)...\n');
      const { spawnCluster } = await import('./spawn-cluster');
      // idle-conns reads the gateways' memory after a forced GC through their inspector; its logins are not what it measures.
      const idle = runs.some((r) => r.opts.mode === 'idle-conns');
      cluster = await spawnCluster({ msgRatePerSec: cli.msgRateLimit, inspectGateways: idle, cheapPasswordHashes: idle });
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
        if (cluster && run.opts.mode === 'group' && run.opts.groupPushControl !== cluster.groupPushControl) {
          // TT_GROUP_PUSH_CONTROL is the gateways' start-up config: this scenario gets a cluster of its own.
          out(`restarting the cluster with TT_GROUP_PUSH_CONTROL=${run.opts.groupPushControl}...\n`);
          await closeGroupPeers();
          await cluster.stop();
          cluster = undefined;
          const { spawnCluster } = await import('./spawn-cluster');
          cluster = await spawnCluster({ msgRatePerSec: cli.msgRateLimit, groupPushControl: run.opts.groupPushControl });
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

/** One run (or scenario): users, load, summary, report section. Returns its exit code. */
async function runOne(argv: string[], run: PlannedRun, cluster: SpawnedCluster | undefined, stop: AbortSignal, hurry: AbortSignal): Promise<number> {
  const { opts } = run;
  if (opts.mode === 'group') return runGroupOne({ command: commandLine(argv), scenarioArgs: run.scenarioArgs, opts, cluster, out, warn, stop, hurry });
  const names = userNames(opts.usersPrefix, opts.mode === 'logins' ? opts.users : opts.mode === 'idle-conns' ? opts.conns : opts.pairs * 2);
  const endpoints = await prepare(opts, names, cluster);
  if (stop.aborted) return EXIT_SETUP;

  if (opts.mode === 'logins') return runLoginsOne(argv, run, cluster, endpoints, stop);
  if (opts.mode === 'idle-conns') return runIdleConnsOne(argv, run, cluster, endpoints, stop);
  if (opts.mode === 'offline') return runOfflineOne(argv, run, cluster, endpoints, stop, hurry);
  const result = await runPressure({ opts, endpoints, out, warn, stop, hurry });
  const verdict = verdictOf(result.stats);
  out(`\n${opts.label}\n`);
  out(formatSummary(result.stats, result.sendingSec, verdict, result.warmupSec));
  out(`pressure tool CPU: ${Math.round(result.toolCpuPercent)}% of one core\n`);
  if (result.disconnects > 0 || result.kicks > 0) out(`unexpected disconnects ${result.disconnects}, kicks ${result.kicks}\n`);

  if (opts.report !== undefined) {
    const section = renderSection({
      label: opts.label,
      command: commandLine(argv),
      scenarioArgs: run.scenarioArgs,
      date: new Date(),
      machine: machineInfo(),
      scenario: cluster ? `${result.scenario}; ${cluster.description}` : result.scenario,
      sendingSec: result.sendingSec,
      warmupSec: result.warmupSec,
      interrupted: result.interrupted,
      toolCpuPercent: result.toolCpuPercent,
      stats: result.stats,
      verdict,
    });
    writeReportSection(opts.report, opts.label, section);
  }
  return verdict.ok ? EXIT_OK : EXIT_BAD_MESSAGES;
}

/** One --mode logins run: summary, report section. */
async function runLoginsOne(argv: string[], run: PlannedRun, cluster: SpawnedCluster | undefined, endpoints: Endpoints, stop: AbortSignal): Promise<number> {
  const { opts } = run;
  const result = await runLogins({ opts, endpoints, out, warn, stop, hurry: stop }, () => cluster?.processes() ?? []);
  const verdict = loginsVerdict(result.summary);
  out(`\n${opts.label}\n`);
  out(formatLoginsSummary(result.summary, verdict));
  out(`pressure tool CPU: ${Math.round(result.toolCpuPercent)}% of one core\n`);
  if (opts.report !== undefined) {
    const section = renderLoginsSection({
      label: opts.label,
      command: commandLine(argv),
      scenarioArgs: run.scenarioArgs,
      date: new Date(),
      machine: machineInfo(),
      scenario: cluster ? `${result.scenario}; ${cluster.description}` : result.scenario,
      interrupted: result.interrupted,
      toolCpuPercent: result.toolCpuPercent,
      summary: result.summary,
      verdict,
    });
    writeReportSection(opts.report, opts.label, section);
  }
  return verdict.ok ? EXIT_OK : EXIT_BAD_MESSAGES;
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

/** One --mode idle-conns run: summary, report section. */
async function runIdleConnsOne(argv: string[], run: PlannedRun, cluster: SpawnedCluster | undefined, endpoints: Endpoints, stop: AbortSignal): Promise<number> {
  const { opts } = run;
  const result = await runIdleConns({ opts, gateways: idleGateways(cluster, endpoints), out, warn, stop });
  const verdict = idleConnsVerdict(result.summary);
  const snaps = result.snapshots;
  const heapBreakdown = snaps && {
    gateway: snaps.gateway,
    conns: snaps.conns,
    rows: perConnectionBreakdown(readHeapSnapshotSummary(snaps.before), readHeapSnapshotSummary(snaps.held), snaps.conns),
  };
  out(`\n${opts.label}\n`);
  out(formatIdleConnsSummary(result.summary, verdict));
  if (heapBreakdown) out(`heap per connection on ${heapBreakdown.gateway} (snapshots ${snaps?.before}, ${snaps?.held}):\n${formatBreakdown(heapBreakdown.rows)}\n`);
  out(`pressure tool CPU: ${Math.round(result.toolCpuPercent)}% of one core\n`);
  if (opts.report !== undefined) {
    const section = renderIdleConnsSection({
      label: opts.label,
      command: commandLine(argv),
      scenarioArgs: run.scenarioArgs,
      date: new Date(),
      machine: machineInfo(),
      scenario: cluster ? `${result.scenario}; ${cluster.description}` : result.scenario,
      interrupted: result.interrupted,
      toolCpuPercent: result.toolCpuPercent,
      summary: result.summary,
      verdict,
      heapBreakdown,
    });
    writeReportSection(opts.report, opts.label, section);
  }
  return verdict.ok ? EXIT_OK : EXIT_BAD_MESSAGES;
}

/** One --mode offline run: the store and pull phases, summary, report section. */
async function runOfflineOne(
  argv: string[],
  run: PlannedRun,
  cluster: SpawnedCluster | undefined,
  endpoints: Endpoints,
  stop: AbortSignal,
  hurry: AbortSignal,
): Promise<number> {
  const { opts } = run;
  const result = await runOffline({ opts, endpoints, out, warn, stop, hurry });
  const verdict = offlineVerdict(result.summary);
  out(`\n${opts.label}\n`);
  out(formatOfflineSummary(result.summary, verdict));
  for (const e of result.pullErrors) warn(`pull failed: ${e}`);
  out(`pressure tool CPU: ${Math.round(result.toolCpuPercent)}% of one core\n`);
  if (opts.report !== undefined) {
    const section = renderOfflineSection({
      label: opts.label,
      command: commandLine(argv),
      scenarioArgs: run.scenarioArgs,
      date: new Date(),
      machine: machineInfo(),
      scenario: cluster ? `${result.scenario}; ${cluster.description}` : result.scenario,
      interrupted: result.interrupted,
      toolCpuPercent: result.toolCpuPercent,
      summary: result.summary,
      verdict,
    });
    writeReportSection(opts.report, opts.label, section);
  }
  return verdict.ok ? EXIT_OK : EXIT_BAD_MESSAGES;
}

/** Puts one scenario's section into the report file (created, or its old section replaced). */
function writeReportSection(report: string, label: string, section: string): void {
  const existing = existsSync(report) ? readFileSync(report, 'utf8') : undefined;
  writeFileSync(report, upsertSection(existing, label, section));
  out(`report: section "${label}" written to ${report}\n`);
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
