#!/usr/bin/env node
// CLI of the pressure tool: options, optional cluster and users, the run, the
// report. The first Ctrl-C stops sending and still reports; the second skips
// the drain; a spawned cluster is stopped in every case.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { machineInfo } from './machine';
import { USAGE, UsageError, parseOptions, userNames, type PressureOptions } from './options';
import { formatSummary, redactArgs, renderSection, upsertSection, verdictOf } from './report';
import { runPressure, type Endpoints } from './run';
import type { SpawnedCluster } from './spawn-cluster';
import { ensureUsers } from './users';

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

async function main(argv: string[]): Promise<number> {
  // `... | head` closes stdout early; that must not crash the run (and its cluster cleanup).
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') warn(`stdout: ${err.message}`);
  });
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    warn(err.problems.join('\n'));
    warn(USAGE);
    return EXIT_SETUP;
  }
  if ('help' in parsed) {
    out(USAGE);
    return EXIT_OK;
  }
  const opts = parsed;
  for (const w of opts.warnings) warn(`warning: ${w}`);

  const stop = new AbortController();
  const hurry = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals += 1;
    if (signals === 1) {
      warn('stopping: finishing the run and reporting (Ctrl-C again to skip waiting for deliveries)');
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
  try {
    const names = userNames(opts.usersPrefix, opts.pairs * 2);
    if (opts.spawnCluster) {
      out('starting a cluster (testkit)...\n');
      const { spawnCluster } = await import('./spawn-cluster');
      cluster = await spawnCluster({ msgRatePerSec: opts.msgRateLimit });
      out(`cluster up: login ${cluster.loginUrl}, gateways ${cluster.gateways.map((g) => g.name).join(', ')}\n`);
    }
    const endpoints = await prepare(opts, names, cluster);
    if (stop.signal.aborted) return EXIT_SETUP;

    const result = await runPressure({ opts, endpoints, out, warn, stop: stop.signal, hurry: hurry.signal });
    const verdict = verdictOf(result.stats);
    out(`\n${opts.label}\n`);
    out(formatSummary(result.stats, result.sendingSec, verdict));
    out(`pressure tool CPU: ${Math.round(result.toolCpuPercent)}% of one core\n`);
    if (result.disconnects > 0 || result.kicks > 0) out(`unexpected disconnects ${result.disconnects}, kicks ${result.kicks}\n`);

    if (opts.report !== undefined) {
      const section = renderSection({
        label: opts.label,
        command: commandLine(argv),
        date: new Date(),
        machine: machineInfo(),
        scenario: cluster ? `${result.scenario}; ${cluster.description}` : result.scenario,
        sendingSec: result.sendingSec,
        interrupted: result.interrupted,
        toolCpuPercent: result.toolCpuPercent,
        stats: result.stats,
        verdict,
      });
      const existing = existsSync(opts.report) ? readFileSync(opts.report, 'utf8') : undefined;
      writeFileSync(opts.report, upsertSection(existing, opts.label, section));
      out(`report: section "${opts.label}" written to ${opts.report}\n`);
    }
    return verdict.ok ? EXIT_OK : EXIT_BAD_MESSAGES;
  } catch (err) {
    warn(`pressure: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT_SETUP;
  } finally {
    if (cluster) {
      out('stopping the cluster...\n');
      await cluster.stop().catch((err: unknown) => warn(`cluster stop failed: ${err instanceof Error ? err.message : String(err)}`));
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
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
