// --mode group in the report: one table across the group scenarios (a row per
// scenario, like the seed's group load-test table), kept between its own
// markers so each run replaces only its row, plus one detail section per
// scenario (upsertSection of report.ts).
import { sectionHead, type SectionMeta } from './report-section';
import { beginMarker, endMarker, ms, perSecond, type Verdict } from './report';
import type { GroupSummary, TierUsage } from './group-stats';
import { cpuTable, type CpuUsage } from './proc-cpu';
import { formatRefusals } from './gateway-refusals';

export const GROUP_TABLE_LABEL = 'group-scenarios';
/** Tiers shown as columns, in this order (others are appended in the detail section only). */
export const TABLE_TIERS = ['msg', 'route', 'db-proxy'] as const;

export interface GroupRow {
  scenario: string;
  summary: GroupSummary;
  pushControl: boolean | undefined;
  tiers: TierUsage[];
}

/** Lost from storage and duplicates fail a group run; shed live pushes are reported only (docs/FLOWS.md §10.2: storage is complete, the live push is best effort). */
export function groupVerdict(s: GroupSummary): Verdict {
  const reasons: string[] = [];
  if (s.lostFromStorage > 0) reasons.push(`${s.lostFromStorage} lost from storage`);
  if (s.duplicates > 0) reasons.push(`${s.duplicates} duplicated deliveries`);
  return { ok: reasons.length === 0, reasons };
}

const TABLE_HEAD = [
  '| scenario | members | online | traffic control | posted msg/s | deliveries/s | p50 / p99 ms | lost from storage | shed | duplicates | ' +
    TABLE_TIERS.map((t) => `CPU % ${t}`).join(' | ') +
    ' | ' +
    TABLE_TIERS.map((t) => `RSS MB ${t}`).join(' | ') +
    ' |',
  '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|' + TABLE_TIERS.map(() => '---:|').join('') + TABLE_TIERS.map(() => '---:|').join(''),
];

function tierCell(tiers: TierUsage[], tier: string, f: (t: TierUsage) => string): string {
  const t = tiers.find((x) => x.tier === tier);
  return t ? f(t) : '–';
}

/** One table row; `|` in a scenario name cannot occur (scenario names are [A-Za-z0-9_.-]). */
export function renderGroupRow(r: GroupRow): string {
  const s = r.summary;
  const sec = s.sendingSec;
  const latency = s.deliveryLatency.count > 0 ? `${ms(s.deliveryLatency.p50)} / ${ms(s.deliveryLatency.p99)}` : '–';
  const control = r.pushControl === undefined ? '?' : r.pushControl ? 'on' : 'off';
  const cells = [
    r.scenario,
    String(s.members),
    s.online === s.members ? 'all' : String(s.online),
    control,
    perSecond(s.acked, sec),
    perSecond(s.delivered, s.deliverySec),
    latency,
    String(s.lostFromStorage),
    String(s.shed),
    String(s.duplicates),
    ...TABLE_TIERS.map((t) => tierCell(r.tiers, t, (u) => `${Math.round(u.cpuPercent)} (peak ${Math.round(u.cpuPeakPercent)})`)),
    ...TABLE_TIERS.map((t) => tierCell(r.tiers, t, (u) => String(Math.round(u.rssMb)))),
  ];
  return `| ${cells.join(' | ')} |`;
}

/**
 * Puts the row of `row.scenario` into the group table of the report text:
 * replaces that scenario's row, otherwise appends it; creates the table
 * section (with `intro` lines) at the end when missing.
 */
export function upsertGroupRow(existing: string, row: GroupRow, intro: readonly string[]): string {
  const begin = beginMarker(GROUP_TABLE_LABEL);
  const end = endMarker(GROUP_TABLE_LABEL);
  const line = renderGroupRow(row);
  const at = existing.indexOf(begin);
  const endAt = at < 0 ? -1 : existing.indexOf(end, at);
  if (at < 0 || endAt < 0) {
    const section = [begin, '## Group scenarios', '', ...intro, '', ...TABLE_HEAD, line, '', end].join('\n') + '\n';
    const sep = existing === '' || existing.endsWith('\n\n') ? '' : existing.endsWith('\n') ? '\n' : '\n\n';
    return existing + sep + section;
  }
  const inner = existing.slice(at + begin.length, endAt).split('\n');
  const prefix = `| ${row.scenario} |`;
  const rowAt = inner.findIndex((l) => l.startsWith(prefix));
  if (rowAt >= 0) {
    inner[rowAt] = line;
  } else {
    // After the last table line (header included), so rows stay in run order.
    let last = -1;
    inner.forEach((l, i) => {
      if (l.startsWith('|')) last = i;
    });
    if (last < 0) inner.splice(inner.length - 1, 0, ...TABLE_HEAD, line);
    else inner.splice(last + 1, 0, line);
  }
  return existing.slice(0, at + begin.length) + inner.join('\n') + existing.slice(endAt);
}

export interface GroupSectionInput extends SectionMeta {
  summary: GroupSummary;
  tiers: TierUsage[];
  verdict: Verdict;
  /** CPU per process over sending + drain, per delivery. */
  cpu?: CpuUsage;
  /** Why the gateways refused sends (reason → count); known only for a spawned cluster. */
  gatewayRefusals?: ReadonlyMap<string, number>;
}

/** "395 / 341 / 54 (gateways refused: flood_control 54)". */
function sentAckedFailed(s: GroupSummary, refusals: ReadonlyMap<string, number> | undefined): string {
  return `${s.sent} / ${s.acked} / ${s.failed}${refusals ? ` (gateways refused: ${formatRefusals(refusals)})` : ''}`;
}

/** The detail section of one group scenario, markers included. */
export function renderGroupSection(r: GroupSectionInput): string {
  const s = r.summary;
  const sec = s.sendingSec;
  const lines = sectionHead(r, r.verdict, 'nothing lost from storage, no duplicate delivery');
  lines.push(
    '',
    '| group messages | count |',
    '|---|---:|',
    `| sent / ACKed / failed (no ACK) | ${sentAckedFailed(s, r.gatewayRefusals)} |`,
    `| posted over ${sec.toFixed(1)} s | ${perSecond(s.acked, sec)} msg/s |`,
    `| live deliveries expected (ACKed × (online − 1)) | ${s.expectedDeliveries} |`,
    `| delivered (distinct member, message) | ${s.delivered} (${perSecond(s.delivered, s.deliverySec)}/s over ${s.deliverySec.toFixed(1)} s, sending to last delivery) |`,
    `| IMMsgData frames received by members (raw, before dedupe) | ${s.rawFrames} |`,
    `| shed (expected − delivered, after the drain) | ${s.shed} |`,
    `| duplicates | ${s.duplicates} |`,
    `| echoes to the sending connection | ${s.echoes} |`,
    `| delivered before/without ACK | ${s.deliveredUnacked} |`,
    `| lost from storage (ACKed, not in history) | ${s.lostFromStorage} |`,
    `| in history without ACK | ${s.storedUnacked} |`,
    '',
    '| latency (ms) | samples | p50 | p95 | p99 | max |',
    '|---|---:|---:|---:|---:|---:|',
    `| send → ACK | ${s.ackLatency.count} | ${ms(s.ackLatency.p50)} | ${ms(s.ackLatency.p95)} | ${ms(s.ackLatency.p99)} | ${ms(s.ackLatency.max)} |`,
    `| send → delivery | ${s.deliveryLatency.count} | ${ms(s.deliveryLatency.p50)} | ${ms(s.deliveryLatency.p95)} | ${ms(s.deliveryLatency.p99)} | ${ms(s.deliveryLatency.max)} |`,
    '',
  );
  if (r.tiers.length > 0) {
    lines.push('| tier | processes | CPU % (mean, of one core) | CPU % (peak second) | RSS MB (peak) |', '|---|---:|---:|---:|---:|');
    for (const t of r.tiers) lines.push(`| ${t.tier} | ${t.processes} | ${Math.round(t.cpuPercent)} | ${Math.round(t.cpuPeakPercent)} | ${Math.round(t.rssMb)} |`);
    lines.push('');
  }
  if (r.cpu) lines.push('CPU from the start of sending to the end of the drain (user + system, /proc/<pid>/stat):', '', ...cpuTable(r.cpu), '');
  if (s.deliveriesPerSecond.length > 0) lines.push(`Deliveries per second: ${s.deliveriesPerSecond.join(', ')}`, '');
  lines.push(endMarker(r.label));
  return lines.join('\n') + '\n';
}

/** The end-of-run lines for the terminal. */
export function formatGroupSummary(s: GroupSummary, tiers: TierUsage[], verdict: Verdict, gatewayRefusals?: ReadonlyMap<string, number>): string {
  const sec = s.sendingSec;
  const rows: [string, string][] = [
    ['members / online', `${s.members} / ${s.online}`],
    ['sent / ACKed / failed', `${sentAckedFailed(s, gatewayRefusals)}  (${perSecond(s.acked, sec)} msg/s over ${sec.toFixed(1)} s)`],
    ['deliveries', `${s.delivered} of ${s.expectedDeliveries} expected  (${perSecond(s.delivered, s.deliverySec)}/s over ${s.deliverySec.toFixed(1)} s), raw frames ${s.rawFrames}`],
    ['shed / duplicates / echoes', `${s.shed} / ${s.duplicates} / ${s.echoes}`],
    ['lost from storage', `${s.lostFromStorage}  (in history without ACK: ${s.storedUnacked})`],
    ['send → ACK', `p50 ${ms(s.ackLatency.p50)}  p99 ${ms(s.ackLatency.p99)} ms`],
    ['send → delivery', `p50 ${ms(s.deliveryLatency.p50)}  p99 ${ms(s.deliveryLatency.p99)}  max ${ms(s.deliveryLatency.max)} ms`],
    ...tiers.map((t): [string, string] => [`tier ${t.tier}`, `CPU ${Math.round(t.cpuPercent)}% (peak ${Math.round(t.cpuPeakPercent)}%), RSS ${Math.round(t.rssMb)} MB`]),
    ['result', verdict.ok ? 'PASS' : `FAIL: ${verdict.reasons.join(', ')}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}
