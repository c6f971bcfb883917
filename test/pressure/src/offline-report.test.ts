import { formatOfflineSummary, offlineVerdict, renderOfflineSection } from './offline-report';
import { OfflineLedger, type OfflineSummary } from './offline-stats';
import { renderSection, upsertSection, verdictOf } from './report';
import { PressureStats } from './stats';

const MACHINE = { cpuModel: 'Test CPU', cpuCount: 4, totalMemBytes: 8 * 1024 ** 3, node: 'v20.0.0', kernel: 'Linux 6.1', arch: 'x64' };

function clean(): OfflineSummary {
  const l = new OfflineLedger(2, 'r');
  for (let s = 0; s < 2; s += 1) {
    for (let seq = 0; seq < 50; seq += 1) {
      l.recordSend(s);
      l.recordAck(s, seq, seq + 1);
      l.recordPulled(s, seq + 1, { runId: 'r', sender: s, seq, sentAtMs: 0 });
    }
    l.recordUnread(50, 50);
    l.recordPull(12.5 + s * 10, 2);
  }
  l.storeSec = 0.5;
  l.pullPhaseSec = 0.25;
  return l.summary();
}

describe('offlineVerdict', () => {
  it('passes a clean run and names every reason to fail', () => {
    expect(offlineVerdict(clean())).toEqual({ ok: true, reasons: [] });
    expect(offlineVerdict({ ...clean(), failed: 3 }).ok).toBe(true);
    expect(offlineVerdict({ ...clean(), lost: 1, duplicated: 2, misrouted: 3, idsReused: 4, unreadShort: 5, pullFailures: 6 }).reasons).toEqual([
      '1 lost',
      '2 duplicated',
      '3 misrouted',
      '4 msg ids reused',
      '5 unread counters below the ACKed count',
      '6 pulls failed',
    ]);
  });
});

describe('renderOfflineSection', () => {
  const section = renderOfflineSection({
    label: 'offline',
    command: 'node test/pressure/dist/main.js --scenarios default',
    scenarioArgs: '--mode offline --pairs 2 --messages 50',
    date: new Date('2025-01-02T03:04:05Z'),
    machine: MACHINE,
    scenario: '2 senders',
    toolCpuPercent: 12,
    summary: clean(),
    verdict: offlineVerdict(clean()),
  });

  it('has the figures between the markers', () => {
    const lines = section.split('\n');
    expect(lines[0]).toBe('<!-- tt-pressure:begin offline -->');
    expect(lines[1]).toBe('## offline');
    expect(section).toContain('**PASS**');
    expect(section).toContain('(scenario `offline`: `--mode offline --pairs 2 --messages 50`)');
    expect(section).toContain('- Stored: 100 messages ACKed in 0.50 s, **200 msg/s**');
    expect(section).toContain('- Pull: 2 receivers logged in at once and pulled 100 messages in 0.25 s (400 msg/s, 4 history requests); per user p50 12.5 ms, p99 22.5 ms');
    expect(section).toContain('| lost (ACKed, not in history) | 0 |');
    expect(section).toContain('| unread counters below the ACKed count | 0 of 2 |');
    expect(section).toContain('| unread + history pages | 2 | 12.5 | 22.5 | 22.5 | 22.5 |');
    expect(section.endsWith('<!-- tt-pressure:end offline -->\n')).toBe(true);
  });

  it('replaces its own section and leaves a live scenario alone', () => {
    const stats = new PressureStats(1).summary();
    const live = renderSection({ label: 'latency-1k', command: 'x', date: new Date(0), machine: MACHINE, scenario: 's', sendingSec: 1, stats, verdict: verdictOf(stats) });
    const doc = upsertSection(upsertSection(undefined, 'latency-1k', live), 'offline', section);
    const again = upsertSection(doc, 'offline', section.replace('**PASS**', '**PASS** again'));
    expect(again).toContain(live);
    expect(again.match(/tt-pressure:begin offline/g)).toHaveLength(1);
    expect(again).toContain('**PASS** again');
  });
});

describe('formatOfflineSummary', () => {
  it('is one aligned table', () => {
    const text = formatOfflineSummary(clean(), offlineVerdict(clean()));
    expect(text).toMatch(/^sent {16}100$/m);
    expect(text).toMatch(/^ACKed \(stored\) {6}100 {2}\(200\/s over 0\.50 s\)$/m);
    expect(text).toMatch(/^pull time per user {2}p50 12\.5 {2}p95 22\.5 {2}p99 22\.5 {2}max 22\.5 ms {2}\(2 users\)$/m);
    expect(text).toMatch(/^result {14}PASS$/m);
  });
});
