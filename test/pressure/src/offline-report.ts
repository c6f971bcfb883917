// The report of an offline run (--mode offline): its verdict, the terminal
// summary and its Markdown section (same markers as report.ts, so a re-run
// replaces it and leaves the other scenarios alone).
import { sectionHead, type SectionMeta } from './report-section';
import type { OfflineSummary, Percentiles } from './offline-stats';
import { endMarker, ms, perSecond, type Verdict } from './report';

export interface OfflineReportInput extends SectionMeta {
  summary: OfflineSummary;
  verdict: Verdict;
}

/** Lost, duplicated, misrouted, reused ids, short unread counters and failed pulls fail the run; sends without ACK are reported only. */
export function offlineVerdict(s: OfflineSummary): Verdict {
  const reasons: string[] = [];
  if (s.lost > 0) reasons.push(`${s.lost} lost`);
  if (s.duplicated > 0) reasons.push(`${s.duplicated} duplicated`);
  if (s.misrouted > 0) reasons.push(`${s.misrouted} misrouted`);
  if (s.idsReused > 0) reasons.push(`${s.idsReused} msg ids reused`);
  if (s.unreadShort > 0) reasons.push(`${s.unreadShort} unread counters below the ACKed count`);
  if (s.pullFailures > 0) reasons.push(`${s.pullFailures} pulls failed`);
  return { ok: reasons.length === 0, reasons };
}

function failedText(s: OfflineSummary): string {
  const detail = Object.entries(s.failedByCode)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  return `${s.failed}${detail ? ` (${detail})` : ''}`;
}

function pullLine(p: Percentiles): string {
  return `p50 ${ms(p.p50)}  p95 ${ms(p.p95)}  p99 ${ms(p.p99)}  max ${ms(p.max)} ms  (${p.count} users)`;
}

/** The end-of-run table for the terminal. */
export function formatOfflineSummary(s: OfflineSummary, verdict: Verdict): string {
  const rows: [string, string][] = [
    ['sent', String(s.sent)],
    ['ACKed (stored)', `${s.acked}  (${perSecond(s.acked, s.storeSec)}/s over ${s.storeSec.toFixed(2)} s)`],
    ['failed (no ACK)', failedText(s)],
    ['pulled', `${s.pulled}  (${s.pages} history pages; all ${s.pullMs.count + s.pullFailures} users in ${s.pullPhaseSec.toFixed(2)} s)`],
    ['lost', String(s.lost)],
    ['duplicated', String(s.duplicated)],
    ['pulled without ACK', String(s.pulledUnacked)],
    ['misrouted', String(s.misrouted)],
    ['msg ids reused', String(s.idsReused)],
    ['msg id gaps', String(s.idGaps)],
    ['unread below ACKed', `${s.unreadShort} of ${s.unreadChecked} sessions`],
    ['pull time per user', pullLine(s.pullMs)],
    ['result', verdict.ok ? 'PASS' : `FAIL: ${verdict.reasons.join(', ')}`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}

/** The section for one offline run, markers included, ending with a newline. */
export function renderOfflineSection(r: OfflineReportInput): string {
  const s = r.summary;
  const lines: string[] = [
    ...sectionHead(
      { ...r, interrupted: undefined },
      r.verdict,
      'every ACKed message pulled exactly once, no msg id reused, unread counters cover every ACK',
    ),
    `- Stored: ${s.acked} messages ACKed in ${s.storeSec.toFixed(2)} s, **${perSecond(s.acked, s.storeSec)} msg/s** (each ACK: committed to MySQL and counted unread)`,
    `- Pull: ${s.pullMs.count + s.pullFailures} receivers logged in at once and pulled ${s.pulled} messages in ${s.pullPhaseSec.toFixed(2)} s ` +
      `(${perSecond(s.pulled, s.pullPhaseSec)} msg/s, ${s.pages} history requests); per user p50 ${ms(s.pullMs.p50)} ms, p99 ${ms(s.pullMs.p99)} ms`,
  ];
  if (r.interrupted) lines.push(`- Interrupted: ${r.interrupted}`);
  lines.push(
    '',
    '| messages | count |',
    '|---|---:|',
    `| sent | ${s.sent} |`,
    `| ACKed (stored) | ${s.acked} |`,
    `| failed (no ACK) | ${failedText(s)} |`,
    `| pulled from history | ${s.pulled} |`,
    `| lost (ACKed, not in history) | ${s.lost} |`,
    `| duplicated (pulled more than once) | ${s.duplicated} |`,
    `| pulled without ACK | ${s.pulledUnacked} |`,
    `| misrouted | ${s.misrouted} |`,
    `| msg ids reused within a session | ${s.idsReused} |`,
    `| msg id gaps (ids no ACK carried) | ${s.idGaps} |`,
    `| unread counters below the ACKed count | ${s.unreadShort} of ${s.unreadChecked} |`,
    `| failed pulls | ${s.pullFailures} |`,
    '',
    '| pull per user (ms): unread request to last history page | users | p50 | p95 | p99 | max |',
    '|---|---:|---:|---:|---:|---:|',
    `| unread + history pages | ${s.pullMs.count} | ${ms(s.pullMs.p50)} | ${ms(s.pullMs.p95)} | ${ms(s.pullMs.p99)} | ${ms(s.pullMs.max)} |`,
    '',
    endMarker(r.label),
  );
  return lines.join('\n') + '\n';
}
