// The fault suite's results as a markdown table (.run/fault-results.md).
import type { FaultSummary } from '../pressure/src';

export interface ScenarioResult {
  scenario: string;
  summary: FaultSummary;
  /** Clients that did not get back in, and other problems of the run itself. */
  failures: string[];
}

export function renderResults(results: readonly ScenarioResult[], load: string): string {
  const lines = [
    '# Fault suite results',
    '',
    `${new Date().toISOString()}; \`make faults\` (test/faults); ${load}.`,
    '',
    '| scenario | acked | lost | dup | unanswered | reused | stall ms | sent | refused | cut | pulled only | re-logins | lost after re-login | out of order |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { scenario, summary: s } of results) {
    lines.push(
      `| ${scenario} | ${s.acked} | ${s.lost} | ${s.duplicates} | ${s.unanswered} | ${s.reused} | ${s.stallMs} | ` +
        `${s.sent} | ${s.refused} | ${s.cut} | ${s.pulledOnly} | ${s.reconnects} | ${s.lostAfterRelogin} | ${s.outOfOrder} |`,
    );
  }
  const problems = results.flatMap((r) => r.failures.map((f) => `- ${r.scenario}: ${f}`));
  if (problems.length > 0) lines.push('', 'Problems of the run:', ...problems);
  lines.push(
    '',
    'lost: ACKed, never reached the online receiver (live, or by its pull after logging in again); ' +
      'dup: extra copies delivered (same message twice live, or stored under two msg ids); ' +
      'unanswered: no ACK nor refusal within the 10 s deadline on a live connection; ' +
      'reused: a msg id naming two messages of one conversation; stall: longest time without any ACK while sending; ' +
      'refused: ACK with msg id 0; cut: the sender\'s own connection died first (its gateway was killed); ' +
      'pulled only: delivered only by the pull after a re-login; lost after re-login: of lost, those whose receiver had logged in again; ' +
      'out of order: live messages that arrived with a lower msg id than one already received from the same sender (measured, not required).',
    '',
  );
  return lines.join('\n');
}
