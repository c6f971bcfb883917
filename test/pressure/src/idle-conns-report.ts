// --mode idle-conns in the terminal and in the report (one section per scenario, upsertSection of report.ts).
import { sectionHead, type SectionMeta } from './report-section';
import { endMarker, type Verdict } from './report';
import type { IdleConnsSummary, IdleGatewayResult } from './idle-conns';
import type { GatewayMemory } from './gateway-inspector';
import { formatBreakdown, type PerConnectionRow } from './heap-snapshot-summary';

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

type MemoryField = keyof GatewayMemory;

/** KiB of `field` per connection between two after-GC readings; undefined without them or connections. */
export function gcKibPerConnection(before: GatewayMemory | undefined, at: GatewayMemory | undefined, field: MemoryField, open: number): number | undefined {
  if (before === undefined || at === undefined || open === 0) return undefined;
  return (at[field] - before[field]) / 1024 / open;
}

function gcPerConn(before: GatewayMemory | undefined, at: GatewayMemory | undefined, field: MemoryField, open: number): string {
  const v = gcKibPerConnection(before, at, field, open);
  return v === undefined ? '–' : v.toFixed(2);
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '–' : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The after-GC readings of a gateway at the end of the hold, per connection (KiB), for the terminal. */
function gcLine(g: IdleGatewayResult): string | undefined {
  if (g.gcBefore === undefined || g.gcAfter === undefined) return undefined;
  const f = (field: MemoryField): string => gcPerConn(g.gcBefore, g.gcAfter, field, g.held);
  return (
    `  ${g.name} after a full GC: heap used ${mib(g.gcBefore.heapUsed)} → ${mib(g.gcAfter.heapUsed)} (${f('heapUsed')} KiB each), ` +
    `external ${f('external')} KiB each (ArrayBuffers ${f('arrayBuffers')}), RSS ${mib(g.gcAfter.rss)} (${f('rss')} KiB each)`
  );
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
    ...s.gateways.flatMap((g) => gcLine(g) ?? []),
    ...s.samples.map((x) => `  e.g. ${x}`),
    '',
  ].join('\n');
}

export interface IdleConnsSectionInput extends SectionMeta {
  summary: IdleConnsSummary;
  verdict: Verdict;
  /** --heap-snapshot: the heap growth of one gateway per connection, by type. */
  heapBreakdown?: { gateway: string; conns: number; rows: PerConnectionRow[] };
}

function gcTable(s: IdleConnsSummary): string[] {
  const gws = s.gateways.filter((g) => g.gcBefore !== undefined);
  if (gws.length === 0) return [];
  return [
    '',
    'After a forced full GC (KiB per connection: growth since before the first connection / connections held):',
    '',
    '| gateway | point | held | heap used | KiB/conn | external | KiB/conn | ArrayBuffers | KiB/conn | RSS | KiB/conn |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...gws.flatMap((g) =>
      (
        [
          ['before', g.gcBefore, 0],
          ['connected', g.gcConnected, g.heldConnected],
          ['after idle', g.gcAfter, g.held],
        ] as const
      ).map(
        ([point, m, held]) =>
          `| ${g.name} | ${point} | ${held} | ${mib(m?.heapUsed)} | ${point === 'before' ? '' : `**${gcPerConn(g.gcBefore, m, 'heapUsed', held)}**`} | ` +
          `${mib(m?.external)} | ${point === 'before' ? '' : gcPerConn(g.gcBefore, m, 'external', held)} | ` +
          `${mib(m?.arrayBuffers)} | ${point === 'before' ? '' : gcPerConn(g.gcBefore, m, 'arrayBuffers', held)} | ` +
          `${mib(m?.rss)} | ${point === 'before' ? '' : `**${gcPerConn(g.gcBefore, m, 'rss', held)}**`} |`,
      ),
    ),
  ];
}

function breakdownLines(b: IdleConnsSectionInput['heapBreakdown']): string[] {
  if (b === undefined) return [];
  return [
    '',
    `Heap snapshot of ${b.gateway} with ${b.conns} connections held, minus its snapshot before the first connection, per connection (V8 self sizes by type; ` +
      `writing the first snapshot grew ${b.gateway}'s RSS for good, so read RSS per connection on the other gateways):`,
    '',
    formatBreakdown(b.rows),
  ];
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
    ...gcTable(s),
    ...breakdownLines(r.heapBreakdown),
    '',
    endMarker(r.label),
    '',
  ].join('\n');
}
