// The Markdown report: one section per scenario label, delimited by HTML
// comments so a re-run replaces its own section and leaves the others alone.
import { barChart, bucketSeconds, sparkline } from './chart';
import type { CpuUsage } from './proc-cpu';
import { cpuTable } from './proc-cpu';
import { sectionHead, type SectionMeta } from './report-section';
import type { LatencySummary, StatsSummary } from './stats';
import { formatRefusals } from './gateway-refusals';

export interface ReportInput extends SectionMeta {
  /** Seconds of the measured sending phase actually run (warm-up excluded). */
  sendingSec: number;
  /** Seconds of warm-up actually run before it (0 or absent = none). */
  warmupSec?: number;
  stats: StatsSummary;
  verdict: Verdict;
  /** Spawned cluster: CPU of each process over the measured period, per delivered message. */
  cpu?: CpuUsage;
  /** Spawned cluster: why the gateways refused sends (reason → count), from their /metrics. */
  gatewayRefusals?: ReadonlyMap<string, number>;
}

export interface Verdict {
  ok: boolean;
  reasons: string[];
}

export const REPORT_TITLE = '# TierTalk benchmarks';
const HEADER_BEGIN = '<!-- tt-pressure:header -->';
const HEADER_END = '<!-- tt-pressure:header-end -->';
/** What the numbers mean; kept up to date between its markers on every write. */
export const REPORT_HEADER = [
  HEADER_BEGIN,
  'Written by the pressure tool (`test/pressure`; `make bench` runs the default scenarios against a spawned cluster). ' +
    'Each section is one scenario, with the exact command and the machine it ran on; re-running a scenario replaces its section.',
  '',
  'How to read the numbers:',
  '',
  '- Every client sends 1:1 text messages to its partner. *ACKed*: the sender got `IMMsgDataAck`; *delivered*: the partner received the message (first copy).',
  '- *lost*: ACKed but never delivered; *duplicated*: delivered more than once; *misrouted*: received by the wrong user or with a body we did not send. ' +
    'Any of these fails the run. *failed (no ACK)*: the send timed out, its connection closed, or the gateway answered msg_id 0 (not stored); ' +
    'with a spawned cluster the gateways\' reasons follow, read from their /metrics (flood_control, store_failed, store_rejected); reported, not a failure.',
  '- *Warm-up*: the tool first sends at the same load for a few seconds (JIT, connection pools, caches). Warm-up messages count for lost, ' +
    'duplicated and failed, but not for latency or throughput.',
  '- *Latency* (ms): send → ACK and send → delivery of the messages sent in the measured period, whenever they settled; p50/p95/p99/max.',
  '- *Measured throughput*: messages sent, ACKs received and first deliveries received per second between the end of the warm-up and the end of sending. ' +
    'Open loop (`--rate R`) offers a fixed rate; closed loop (`--rate 0 --window W`) keeps W messages unACKed per client and so finds the highest sustained rate.',
  '- *Offline* scenarios (`--mode offline`): senders send to receivers that are offline; *stored/s* counts ACKs (each one committed to MySQL and counted unread). ' +
    'The receivers then log in at once and pull unread counters and history pages; *pull time* is per user, from the unread request to the last page. ' +
    'Every ACKed message must be pulled exactly once (*lost* and *duplicated* fail the run), no message id may be given twice in a session, ' +
    'and no unread counter may be below what was ACKed.',
  '- *Idle connections* (`--mode idle-conns`): N users log in, each on a connection of its own from one of several 127.0.0.x addresses ' +
    '(each has its own ephemeral port range; the gateways admit `TT_MAX_CONN_PER_IP` per address), placed as `/msg_server` places them, then stay idle ' +
    'sending heartbeats as a TeamTalk client does (every 30 s). *KiB per connection*: the gateway\'s VmRSS once connected and after the idle time, minus before the first ' +
    'connection, over the connections it held then (a GC between two readings lowers one of them: both are given). With a spawned cluster the gateways run with the V8 inspector on loopback ' +
    '(bench only), and the same points are read again after a forced full GC: *heap used*, *external*, *ArrayBuffers* and RSS per connection, which the login burst\'s garbage does not inflate; ' +
    'the tool first logs in and closes 100 users per gateway so that compiled code and warmed caches are in the baseline. `--heap-snapshot DIR` adds a breakdown of the heap growth per connection by object type. ' +
    '*logins/s*: while connecting, first logins of fresh users (a spawned cluster hashes at the cheapest argon2id: logins are not what this measures). ' +
    'A connection not logged in or dropped while idle fails the run.',
  '- *many-conns*: 2,000 connections (1,000 pairs) at 15 msg/s each, open loop; each client asks the login server (`GET /msg_server`) for its gateway as a real client does, ' +
    'and the gateways keep their default flood control (`--msg-rate-limit default`: `TT_MSG_RATE_PER_SEC` unset, 20 IMMsgData/s per connection, as `make up` runs them); ' +
    'testkit raises only the per-IP login lockouts, since every client comes from 127.0.0.1. A scenario whose gateway settings differ from the running cluster\'s gets a cluster of its own.',
  '- *CPU per process*: user + system seconds of each service process of the spawned cluster and of the pressure tool, from `/proc/<pid>/stat` at the start and the end of the measured period; ' +
    '*CPU per delivered message* (per login) is that over the messages delivered (logins answered) in the period; the cluster total leaves the tool out.',
  '- *Plot* ([bench-plot.svg](bench-plot.svg)): every run with `--plot-series` is a point of throughput and p99 against offered load; its raw points are in bench-plot.json, ' +
    'from which `node test/pressure/dist/plot-main.js docs/bench-plot.json` re-renders it (`make bench ARGS="--scenarios sweep"` measures the points).',
  '- The pressure tool runs on the same machine as the cluster and competes for its CPU; its own CPU use is given per section.',
  HEADER_END,
].join('\n');

/** lost, duplicated and misrouted messages fail a run; failed sends (no ACK) are reported only. */
export function verdictOf(s: StatsSummary): Verdict {
  const reasons: string[] = [];
  if (s.lost > 0) reasons.push(`${s.lost} lost`);
  if (s.duplicated > 0) reasons.push(`${s.duplicated} duplicated`);
  if (s.misrouted > 0) reasons.push(`${s.misrouted} misrouted`);
  return { ok: reasons.length === 0, reasons };
}

export function beginMarker(label: string): string {
  return `<!-- tt-pressure:begin ${label} -->`;
}
export function endMarker(label: string): string {
  return `<!-- tt-pressure:end ${label} -->`;
}

export function ms(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function latencyRow(name: string, l: LatencySummary): string {
  return `| ${name} | ${l.count} | ${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ${ms(l.max)} |`;
}

export function perSecond(n: number, sec: number): string {
  return sec > 0 ? Math.round(n / sec).toString() : '–';
}

function warmupNote(s: StatsSummary, warmupSec: number): string {
  return `${warmupSec.toFixed(1)} s at the same load, ${s.warmupSent} messages sent (they count for lost/duplicated/failed, not for latency or throughput)`;
}

function phaseMarks(seconds: StatsSummary['seconds']): string {
  return seconds.map((x) => (x.warmup ? 'w' : x.draining ? 'd' : '·')).join('');
}

/** The section for one run, markers included, ending with a newline. */
export function renderSection(r: ReportInput): string {
  const s = r.stats;
  const failedDetail = failureDetail(s, r.gatewayRefusals);
  const lines: string[] = sectionHead(r, r.verdict, 'nothing lost, duplicated or misrouted');
  const warmupSec = r.warmupSec ?? 0;
  lines.push(`- Warm-up: ${warmupSec > 0 ? warmupNote(s, warmupSec) : 'none'}`);
  lines.push(
    `- Measured over ${r.sendingSec.toFixed(1)} s: ACKed ${perSecond(s.measured.acked, r.sendingSec)} msg/s, ` +
      `delivered ${perSecond(s.measured.delivered, r.sendingSec)} msg/s; send → ACK p50 ${ms(s.ackLatency.p50)} ms, p99 ${ms(s.ackLatency.p99)} ms`,
  );
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
    `| measured throughput over ${r.sendingSec.toFixed(1)} s (sent/s, ACKed/s, delivered/s) | ` +
      `${perSecond(s.measured.sent, r.sendingSec)}, ${perSecond(s.measured.acked, r.sendingSec)}, ${perSecond(s.measured.delivered, r.sendingSec)} |`,
    '',
    `| latency (ms), measured period${warmupSec > 0 ? ' (warm-up excluded)' : ''} | samples | p50 | p95 | p99 | max |`,
    '|---|---:|---:|---:|---:|---:|',
    latencyRow('send → ACK', s.ackLatency),
    latencyRow('send → delivery', s.deliveryLatency),
    '',
  );
  if (r.cpu) lines.push('CPU over the measured period (user + system, /proc/<pid>/stat):', '', ...cpuTable(r.cpu), '');
  if (s.seconds.length > 0) {
    const max = Math.max(0, ...s.seconds.flatMap((x) => [x.sent, x.acked, x.delivered]));
    const drain = s.seconds.filter((x) => x.draining).length;
    const warm = s.seconds.filter((x) => x.warmup).length;
    const p99s = s.secondsLatency.map((x) => x.ackP99Ms);
    const p99Max = Math.max(0, ...p99s);
    lines.push(
      `Per second (${warm > 0 ? `${warm} s warm-up + ` : ''}${s.seconds.length - drain - warm} s sending${drain > 0 ? ` + ${drain} s drain` : ''}, scale 0–${max}/s):`,
      '',
      '```text',
      `sent      ${sparkline(s.seconds.map((x) => x.sent), max)}`,
      `ACKed     ${sparkline(s.seconds.map((x) => x.acked), max)}`,
      `delivered ${sparkline(s.seconds.map((x) => x.delivered), max)}`,
    );
    if (p99s.length === s.seconds.length) lines.push(`p99 ACK   ${sparkline(p99s, p99Max)}  (that second's, 0–${ms(p99Max)} ms)`);
    if (warm + drain > 0) lines.push(`phase     ${phaseMarks(s.seconds)}  (w warm-up, · measured, d drain)`);
    lines.push(
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
  const base = existing === undefined || existing.trim() === '' ? `${REPORT_TITLE}\n\n${REPORT_HEADER}\n` : refreshHeader(existing);
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

/** Replaces the header between its markers with the current one; text without the markers is left alone. */
function refreshHeader(text: string): string {
  const at = text.indexOf(HEADER_BEGIN);
  const endAt = at < 0 ? -1 : text.indexOf(HEADER_END, at);
  if (endAt < 0) return text;
  return text.slice(0, at) + REPORT_HEADER + text.slice(endAt + HEADER_END.length);
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

/** The end-of-run table for the terminal; `sendingSec` is the measured period, `warmupSec` the warm-up before it. */
/** "NOT_STORED 54; gateways refused: flood_control 54": the client's codes, then the gateways' reasons. */
function failureDetail(s: StatsSummary, refusals: ReadonlyMap<string, number> | undefined): string {
  const codes = Object.entries(s.failedByCode)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  return refusals && refusals.size > 0 ? `${codes}; gateways refused: ${formatRefusals(refusals)}` : codes;
}

export function formatSummary(s: StatsSummary, sendingSec: number, verdict: Verdict, warmupSec = 0, gatewayRefusals?: ReadonlyMap<string, number>): string {
  const failedDetail = failureDetail(s, gatewayRefusals);
  const rows: [string, string][] = [
    ['sent', `${s.sent}  (${perSecond(s.measured.sent, sendingSec)}/s over ${sendingSec.toFixed(1)} s)`],
  ];
  if (warmupSec > 0) rows.push(['warm-up', warmupNote(s, warmupSec)]);
  rows.push(
    ['ACKed', String(s.acked)],
    ['failed (no ACK)', `${s.failed}${failedDetail ? `  (${failedDetail})` : ''}`],
    ['delivered', String(s.delivered)],
    ['lost', String(s.lost)],
    ['duplicated', `${s.duplicated}${s.extraCopies > s.duplicated ? `  (${s.extraCopies} extra copies)` : ''}`],
    ['delivered without ACK', String(s.deliveredUnacked)],
    ['misrouted', String(s.misrouted)],
  );
  const lat = (l: LatencySummary): string => `p50 ${ms(l.p50)}  p95 ${ms(l.p95)}  p99 ${ms(l.p99)}  max ${ms(l.max)} ms  (${l.count})`;
  rows.push(
    ['measured throughput', `ACKed ${perSecond(s.measured.acked, sendingSec)}/s, delivered ${perSecond(s.measured.delivered, sendingSec)}/s`],
    ['send → ACK', lat(s.ackLatency)],
    ['send → delivery', lat(s.deliveryLatency)],
  );
  rows.push(['result', verdict.ok ? 'PASS' : `FAIL: ${verdict.reasons.join(', ')}`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}
