// --mode idle-conns in the terminal and in the report (one section per scenario, upsertSection of report.ts).
import { describeMachine, type MachineInfo } from './machine';
import { beginMarker, endMarker, type Verdict } from './report';
import type { IdleConnsSummary, IdleGatewayResult } from './idle-conns';

/** Every connection logged in and still held at the end, or the run fails. */
export function idleConnsVerdict(s: IdleConnsSummary): Verdict {
  const reasons: string[] = [];
  const failed = s.conns - s.loggedIn;
  if (failed > 0) reasons.push(`${failed} of ${s.conns} connections not logged in`);
  if (s.dropped > 0) reasons.push(`${s.dropped} dropped while idle`);
  return { ok: reasons.length === 0, reasons };
}

function kib(v: number | undefined): string {
  return v === undefined ? '–' : `${(v / 1024).toFixed(1)} MiB`;
}

/** (RSS after the idle time − RSS before) / connections held; undefined without RSS or connections. */
export function kibPerConnection(g: IdleGatewayResult): number | undefined {
  if (g.rssBeforeKiB === undefined || g.rssAfterKiB === undefined || g.held === 0) return undefined;
  return (g.rssAfterKiB - g.rssBeforeKiB) / g.held;
}

function perConn(g: IdleGatewayResult): string {
  const v = kibPerConnection(g);
  return v === undefined ? '–' : v.toFixed(1);
}

function loginsPerSec(s: IdleConnsSummary): string {
  return s.connectSec > 0 ? String(Math.round(s.loggedIn / s.connectSec)) : '–';
}

function errorList(s: IdleConnsSummary): string {
  return Object.entries(s.errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
}

export function formatIdleConnsSummary(s: IdleConnsSummary, verdict: Verdict): string {
  return [
    `result: ${verdict.ok ? 'PASS' : `FAIL (${verdict.reasons.join(', ')})`}`,
    `logged in: ${s.loggedIn}/${s.conns} in ${s.connectSec.toFixed(1)} s (${loginsPerSec(s)} logins/s), then idle ${s.holdSec.toFixed(1)} s; dropped ${s.dropped}`,
    `failures: ${errorList(s)}`,
    ...s.gateways.map(
      (g) => `  ${g.name}: ${g.held} held, RSS ${kib(g.rssBeforeKiB)} → ${kib(g.rssConnectedKiB)} connected → ${kib(g.rssAfterKiB)} after idle, ${perConn(g)} KiB per connection`,
    ),
    ...s.samples.map((x) => `  e.g. ${x}`),
    '',
  ].join('\n');
}

export interface IdleConnsSectionInput {
  label: string;
  command: string;
  scenarioArgs?: string;
  date: Date;
  machine: MachineInfo;
  scenario: string;
  interrupted?: string;
  toolCpuPercent: number;
  summary: IdleConnsSummary;
  verdict: Verdict;
}

export function renderIdleConnsSection(r: IdleConnsSectionInput): string {
  const s = r.summary;
  return [
    beginMarker(r.label),
    `## ${r.label}`,
    '',
    `- Result: ${r.verdict.ok ? '**PASS** (every connection logged in and held for the whole idle time)' : `**FAIL** (${r.verdict.reasons.join(', ')})`}`,
    `- Scenario: ${r.scenario}`,
    `- Command: \`${r.command}\`${r.scenarioArgs === undefined ? '' : ` (scenario \`${r.label}\`: \`${r.scenarioArgs}\`)`}`,
    `- Machine: ${describeMachine(r.machine)}; the pressure tool used ${Math.round(r.toolCpuPercent)}% of one core; load average at the start ${s.loadAverage.map((x) => x.toFixed(1)).join(' / ')} (1 / 5 / 15 min)`,
    `- Date: ${r.date.toISOString()}${r.interrupted ? `; interrupted: ${r.interrupted}` : ''}`,
    `- Connecting: ${s.loggedIn}/${s.conns} logged in in ${s.connectSec.toFixed(1)} s (**${loginsPerSec(s)} logins/s**, ${s.concurrency} in flight), ` +
      `at most ${s.maxPerSourceAndGateway} connections per source address and gateway; failures: ${errorList(s)}; dropped while idle: ${s.dropped}`,
    '',
    '| gateway | connections held | RSS before | RSS connected | RSS after idle | KiB per connection |',
    '|---|---:|---:|---:|---:|---:|',
    ...s.gateways.map((g) => `| ${g.name} | ${g.held} | ${kib(g.rssBeforeKiB)} | ${kib(g.rssConnectedKiB)} | ${kib(g.rssAfterKiB)} | **${perConn(g)}** |`),
    '',
    endMarker(r.label),
    '',
  ].join('\n');
}
