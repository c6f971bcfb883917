// --mode idle-conns in the terminal and in the report (one section per scenario, upsertSection of report.ts).
import { sectionHead, type SectionMeta } from './report-section';
import { endMarker, type Verdict } from './report';
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

/**
 * KiB of gateway RSS per connection: (RSS at that point − RSS before the first connection) / connections open then;
 * undefined without RSS or connections. A GC between the readings makes one of the two low: both are reported.
 */
export function kibPerConnection(before: number | undefined, at: number | undefined, open: number): number | undefined {
  if (before === undefined || at === undefined || open === 0) return undefined;
  return (at - before) / open;
}

function perConn(before: number | undefined, at: number | undefined, open: number): string {
  const v = kibPerConnection(before, at, open);
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
      (g) =>
        `  ${g.name}: RSS ${kib(g.rssBeforeKiB)} → ${kib(g.rssConnectedKiB)} with ${g.heldConnected} connected (${perConn(g.rssBeforeKiB, g.rssConnectedKiB, g.heldConnected)} KiB each)` +
        ` → ${kib(g.rssAfterKiB)} with ${g.held} after idle (${perConn(g.rssBeforeKiB, g.rssAfterKiB, g.held)} KiB each)`,
    ),
    ...s.samples.map((x) => `  e.g. ${x}`),
    '',
  ].join('\n');
}

export interface IdleConnsSectionInput extends SectionMeta {
  summary: IdleConnsSummary;
  verdict: Verdict;
}

export function renderIdleConnsSection(r: IdleConnsSectionInput): string {
  const s = r.summary;
  return [
    ...sectionHead(
      r,
      r.verdict,
      'every connection logged in and held for the whole idle time',
      `; load average at the start ${s.loadAverage.map((x) => x.toFixed(1)).join(' / ')} (1 / 5 / 15 min)`,
    ),
    `- Connecting: ${s.loggedIn}/${s.conns} logged in in ${s.connectSec.toFixed(1)} s (**${loginsPerSec(s)} logins/s**, ${s.concurrency} in flight), ` +
      `at most ${s.maxPerSourceAndGateway} connections per source address and gateway; failures: ${errorList(s)}; dropped while idle: ${s.dropped}`,
    '',
    '| gateway | RSS before | connected: held | RSS | KiB per connection | after idle: held | RSS | KiB per connection |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...s.gateways.map(
      (g) =>
        `| ${g.name} | ${kib(g.rssBeforeKiB)} | ${g.heldConnected} | ${kib(g.rssConnectedKiB)} | **${perConn(g.rssBeforeKiB, g.rssConnectedKiB, g.heldConnected)}** | ` +
        `${g.held} | ${kib(g.rssAfterKiB)} | **${perConn(g.rssBeforeKiB, g.rssAfterKiB, g.held)}** |`,
    ),
    '',
    endMarker(r.label),
    '',
  ].join('\n');
}
