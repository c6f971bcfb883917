// --mode logins in the terminal and in the report (one section per scenario, upsertSection of report.ts).
import { endMarker, ms, type Verdict } from './report';
import { sectionHead, type SectionMeta } from './report-section';
import { cpuTable } from './proc-cpu';
import type { LoginsSummary } from './logins';

/** A right password refused or a wrong one accepted fails the run; connection errors are reported. */
export function loginsVerdict(s: LoginsSummary): Verdict {
  const reasons: string[] = [];
  if (s.wrongAnswers > 0) reasons.push(`${s.wrongAnswers} wrong answers`);
  if (s.attempts === 0) reasons.push('no login measured');
  return { ok: reasons.length === 0, reasons };
}

function cpuCells(s: LoginsSummary): string {
  const entries = Object.entries(s.cpuMsPerLogin);
  if (entries.length === 0) return '–';
  const total = entries.reduce((a, [, v]) => a + v, 0);
  return `${entries.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}; total ${total.toFixed(2)} ms`;
}

function rate(n: number, sec: number): string {
  return sec > 0 ? String(Math.round(n / sec)) : '–';
}

export function formatLoginsSummary(s: LoginsSummary, verdict: Verdict): string {
  const errs = Object.entries(s.errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const l = s.latencyMs;
  return [
    `result: ${verdict.ok ? 'PASS' : `FAIL (${verdict.reasons.join(', ')})`}`,
    `logins/s: ${rate(s.attempts, s.measuredSec)} (${s.accepted} accepted, ${s.refusedAsExpected} wrong passwords refused, in ${s.measuredSec.toFixed(1)} s)`,
    `latency connect → IMLoginRes ms: p50 ${ms(l.p50)}, p95 ${ms(l.p95)}, p99 ${ms(l.p99)}, max ${ms(l.max)}`,
    `errors: ${errs}`,
    `service CPU per login: ${cpuCells(s)}`,
    ...s.samples.map((x) => `  e.g. ${x}`),
    '',
  ].join('\n');
}

export interface LoginsSectionInput extends SectionMeta {
  summary: LoginsSummary;
  verdict: Verdict;
}

export function renderLoginsSection(r: LoginsSectionInput): string {
  const s = r.summary;
  const l = s.latencyMs;
  const errs = Object.entries(s.errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  return [
    ...sectionHead(r, r.verdict, 'every right password accepted, every wrong one refused'),
    '',
    '| logins/s | accepted | wrong refused | measured s | connect → IMLoginRes p50 / p95 / p99 / max ms | errors | service CPU ms per login |',
    '|---:|---:|---:|---:|---|---|---|',
    `| **${rate(s.attempts, s.measuredSec)}** | ${s.accepted} | ${s.refusedAsExpected} | ${s.measuredSec.toFixed(1)} | ${ms(l.p50)} / ${ms(l.p95)} / ${ms(l.p99)} / ${ms(l.max)} | ${errs} | ${cpuCells(s)} |`,
    '',
    ...(s.cpu ? ['CPU over the measured period (user + system, /proc/<pid>/stat):', '', ...cpuTable(s.cpu), ''] : []),
    endMarker(r.label),
    '',
  ].join('\n');
}
