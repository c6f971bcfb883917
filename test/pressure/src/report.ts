// The Markdown report: one section per scenario label, delimited by HTML
// comments so a re-run replaces its own section and leaves the others alone.
import { barChart, bucketSeconds, sparkline } from './chart';
import { describeMachine, type MachineInfo } from './machine';
import type { LatencySummary, StatsSummary } from './stats';

export interface ReportInput {
  label: string;
  /** The command line, already redacted (see redactArgs). */
  command: string;
  date: Date;
  machine: MachineInfo;
  /** One line describing the load (pairs, gateways, transport, rate). */
  scenario: string;
  /** Seconds of the sending phase actually run. */
  sendingSec: number;
  /** Set when the run was cut short (Ctrl-C). */
  interrupted?: string;
  /** CPU of the pressure process itself, % of one core. */
  toolCpuPercent?: number;
  stats: StatsSummary;
  verdict: Verdict;
}

export interface Verdict {
  ok: boolean;
  reasons: string[];
}

export const REPORT_TITLE = '# TierTalk benchmarks';
const REPORT_INTRO =
  'Written by the pressure tool (`test/pressure`, `make bench`). Each section is one scenario; ' +
  're-running a scenario replaces its section.\n';

/** lost, duplicated and misrouted messages fail a run; failed sends (no ACK) are reported only. */
export function verdictOf(s: StatsSummary): Verdict {
  const reasons: string[] = [];
  if (s.lost > 0) reasons.push(`${s.lost} lost`);
  if (s.duplicated > 0) reasons.push(`${s.duplicated} duplicated`);
  if (s.misrouted > 0) reasons.push(`${s.misrouted} misrouted`);
  return { ok: reasons.length === 0, reasons };
}

function beginMarker(label: string): string {
  return `<!-- tt-pressure:begin ${label} -->`;
}
function endMarker(label: string): string {
  return `<!-- tt-pressure:end ${label} -->`;
}

function ms(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function latencyRow(name: string, l: LatencySummary): string {
  return `| ${name} | ${l.count} | ${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ${ms(l.max)} |`;
}

function perSecond(n: number, sec: number): string {
  return sec > 0 ? Math.round(n / sec).toString() : '–';
}

/** The section for one run, markers included, ending with a newline. */
export function renderSection(r: ReportInput): string {
  const s = r.stats;
  const failedDetail = Object.entries(s.failedByCode)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const lines: string[] = [
    beginMarker(r.label),
    `## ${r.label}`,
    '',
    `- Result: ${r.verdict.ok ? '**PASS** (nothing lost, duplicated or misrouted)' : `**FAIL** (${r.verdict.reasons.join(', ')})`}`,
    `- Scenario: ${r.scenario}`,
    `- Command: \`${r.command}\``,
    `- Machine: ${describeMachine(r.machine)}${r.toolCpuPercent === undefined ? '' : `; the pressure tool used ${Math.round(r.toolCpuPercent)}% of one core`}`,
    `- Date: ${r.date.toISOString()}`,
  ];
  if (r.interrupted) lines.push(`- Interrupted: ${r.interrupted}`);
  lines.push(
    '',
    '| messages | count |',
    '|---|---:|',
    `| sent | ${s.sent} |`,
    `| ACKed | ${s.acked} |`,
    `| failed (no ACK) | ${s.failed}${failedDetail ? ` (${failedDetail})` : ''} |`,
    `| delivered | ${s.delivered} |`,
    `| lost (ACKed, never delivered) | ${s.lost} |`,
    `| duplicated (delivered more than once) | ${s.duplicated}${s.extraCopies > s.duplicated ? ` (${s.extraCopies} extra copies)` : ''} |`,
    `| delivered without ACK | ${s.deliveredUnacked} |`,
    `| misrouted | ${s.misrouted} |`,
    `| throughput over ${r.sendingSec.toFixed(1)} s (sent/s, ACKed/s) | ${perSecond(s.sent, r.sendingSec)}, ${perSecond(s.acked, r.sendingSec)} |`,
    '',
    '| latency (ms) | samples | p50 | p95 | p99 | max |',
    '|---|---:|---:|---:|---:|---:|',
    latencyRow('send → ACK', s.ackLatency),
    latencyRow('send → delivery', s.deliveryLatency),
    '',
  );
  if (s.seconds.length > 0) {
    const max = Math.max(0, ...s.seconds.flatMap((x) => [x.sent, x.acked, x.delivered]));
    const drain = s.seconds.filter((x) => x.draining).length;
    lines.push(
      `Per second (${s.seconds.length - drain} s sending${drain > 0 ? ` + ${drain} s drain` : ''}, scale 0–${max}/s):`,
      '',
      '```text',
      `sent      ${sparkline(s.seconds.map((x) => x.sent), max)}`,
      `ACKed     ${sparkline(s.seconds.map((x) => x.acked), max)}`,
      `delivered ${sparkline(s.seconds.map((x) => x.delivered), max)}`,
      '',
      'delivered/s',
      barChart(bucketSeconds(s.seconds.map((x) => x.delivered), 30), 40),
      '```',
      '',
    );
  }
  lines.push(endMarker(r.label));
  return lines.join('\n') + '\n';
}

/**
 * Puts `section` into the report text: replaces the section with the same
 * label, otherwise appends it. An empty or missing file gets a title first.
 */
export function upsertSection(existing: string | undefined, label: string, section: string): string {
  const base = existing === undefined || existing.trim() === '' ? `${REPORT_TITLE}\n\n${REPORT_INTRO}` : existing;
  const begin = beginMarker(label);
  const end = endMarker(label);
  const at = base.indexOf(begin);
  if (at >= 0) {
    const endAt = base.indexOf(end, at);
    if (endAt >= 0) {
      let after = endAt + end.length;
      if (base[after] === '\n') after += 1;
      return base.slice(0, at) + section + base.slice(after);
    }
  }
  const sep = base.endsWith('\n\n') ? '' : base.endsWith('\n') ? '\n' : '\n\n';
  return base + sep + section;
}

const SECRET_FLAGS = new Set(['--password']);

/** Shell-quoted command line with the password and URL credentials replaced by ***. */
export function redactArgs(argv: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    let a = argv[i];
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0 && SECRET_FLAGS.has(a.slice(0, eq))) {
      a = `${a.slice(0, eq)}=***`;
    } else if (i > 0 && SECRET_FLAGS.has(argv[i - 1])) {
      a = '***';
    }
    a = a.replace(/(\w+:\/\/[^:/@\s]+):[^@/\s]*@/g, '$1:***@');
    out.push(/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  }
  return out.join(' ');
}

/** The end-of-run table for the terminal. */
export function formatSummary(s: StatsSummary, sendingSec: number, verdict: Verdict): string {
  const failedDetail = Object.entries(s.failedByCode)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const rows: [string, string][] = [
    ['sent', `${s.sent}  (${perSecond(s.sent, sendingSec)}/s over ${sendingSec.toFixed(1)} s)`],
    ['ACKed', `${s.acked}  (${perSecond(s.acked, sendingSec)}/s)`],
    ['failed (no ACK)', `${s.failed}${failedDetail ? `  (${failedDetail})` : ''}`],
    ['delivered', String(s.delivered)],
    ['lost', String(s.lost)],
    ['duplicated', `${s.duplicated}${s.extraCopies > s.duplicated ? `  (${s.extraCopies} extra copies)` : ''}`],
    ['delivered without ACK', String(s.deliveredUnacked)],
    ['misrouted', String(s.misrouted)],
  ];
  const lat = (l: LatencySummary): string => `p50 ${ms(l.p50)}  p95 ${ms(l.p95)}  p99 ${ms(l.p99)}  max ${ms(l.max)} ms  (${l.count})`;
  rows.push(['send → ACK', lat(s.ackLatency)], ['send → delivery', lat(s.deliveryLatency)]);
  rows.push(['result', verdict.ok ? 'PASS' : `FAIL: ${verdict.reasons.join(', ')}`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}
