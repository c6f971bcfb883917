import { formatSummary, redactArgs, renderSection, upsertSection, verdictOf, REPORT_HEADER, REPORT_TITLE, type ReportInput } from './report';
import { PressureStats, type StatsSummary } from './stats';

function sampleStats(lost = 0): StatsSummary {
  const s = new PressureStats(1);
  for (let seq = 0; seq < 10; seq += 1) {
    s.recordSend(0, seq, 0);
    s.recordAck(0, seq, 2);
    if (seq >= lost) s.recordDelivery(0, seq, 0, 3);
    if (seq % 5 === 0) s.rollSecond(seq === 5);
  }
  return s.summary();
}

function input(label: string, stats = sampleStats()): ReportInput {
  return {
    label,
    command: 'node test/pressure/dist/main.js --pairs 1',
    date: new Date('2025-01-02T03:04:05Z'),
    machine: { cpuModel: 'Test CPU', cpuCount: 4, totalMemBytes: 8 * 1024 ** 3, node: 'v20.0.0', kernel: 'Linux 6.1', arch: 'x64' },
    scenario: '1 pair',
    sendingSec: 2,
    stats,
    verdict: verdictOf(stats),
  };
}

describe('verdictOf', () => {
  it('fails on lost, duplicated or misrouted messages only', () => {
    expect(verdictOf(sampleStats()).ok).toBe(true);
    expect(verdictOf(sampleStats(2))).toEqual({ ok: false, reasons: ['2 lost'] });
    expect(verdictOf({ ...sampleStats(), duplicated: 1, misrouted: 3, failed: 9 })).toEqual({ ok: false, reasons: ['1 duplicated', '3 misrouted'] });
  });
});

describe('renderSection', () => {
  it('has the scenario, command, machine, date, numbers and a chart between markers', () => {
    const text = renderSection(input('smoke'));
    const lines = text.split('\n');
    expect(lines[0]).toBe('<!-- tt-pressure:begin smoke -->');
    expect(lines[1]).toBe('## smoke');
    expect(text).toContain('**PASS**');
    expect(text).toContain('- Command: `node test/pressure/dist/main.js --pairs 1`');
    expect(text).toContain('- Machine: 4 × Test CPU, 8.0 GiB RAM, Linux 6.1 (x64), Node v20.0.0');
    expect(text).toContain('- Date: 2025-01-02T03:04:05.000Z');
    expect(text).toContain('| sent | 10 |');
    expect(text).toContain('| lost (ACKed, never delivered) | 0 |');
    expect(text).toMatch(/\| send → ACK \| 10 \| 2\.00 \|/);
    expect(text).toContain('```text');
    expect(text).toContain('delivered/s');
    expect(text).toContain('Per second (1 s sending + 1 s drain');
    expect(text.endsWith('<!-- tt-pressure:end smoke -->\n')).toBe(true);
  });

  it('notes an interruption and the tool\'s own CPU', () => {
    const text = renderSection({ ...input('x'), interrupted: 'stopped by signal after 3.0 s', toolCpuPercent: 45.4 });
    expect(text).toContain('- Interrupted: stopped by signal after 3.0 s');
    expect(text).toContain('the pressure tool used 45% of one core');
  });

  it('says FAIL with the reasons', () => {
    expect(renderSection(input('x', sampleStats(1)))).toContain('**FAIL** (1 lost)');
  });
});

function warmStats(): StatsSummary {
  const s = new PressureStats(1);
  s.startWarmup();
  for (let seq = 0; seq < 4; seq += 1) {
    s.recordSend(0, seq, 0);
    s.recordAck(0, seq, 50);
    s.recordDelivery(0, seq, 0, 60);
  }
  s.rollSecond(false, true);
  s.startMeasuring();
  for (let seq = 4; seq < 24; seq += 1) {
    s.recordSend(0, seq, 1000);
    s.recordAck(0, seq, 1002);
    s.recordDelivery(0, seq, 1000, 1003);
  }
  s.rollSecond();
  s.stopMeasuring();
  s.rollSecond(true);
  return s.summary();
}

describe('warm-up and measured figures', () => {
  it('states the warm-up, the measured throughput and latency in the section', () => {
    const stats = warmStats();
    const text = renderSection({ ...input('w', stats), sendingSec: 2, warmupSec: 1 });
    expect(text).toContain('- Warm-up: 1.0 s at the same load, 4 messages sent (they count for lost/duplicated/failed, not for latency or throughput)');
    expect(text).toContain('- Measured over 2.0 s: ACKed 10 msg/s, delivered 10 msg/s; send → ACK p50 2.00 ms, p99 2.00 ms');
    expect(text).toContain('| measured throughput over 2.0 s (sent/s, ACKed/s, delivered/s) | 10, 10, 10 |');
    expect(text).toContain('| latency (ms), measured period (warm-up excluded) | samples |');
    expect(text).toMatch(/\| send → ACK \| 20 \| 2\.00 \|/);
    expect(text).toContain('Per second (1 s warm-up + 1 s sending + 1 s drain');
    expect(text).toContain('phase     w·d  (w warm-up, · measured, d drain)');
    expect(text).toContain('p99 ACK   ');
  });

  it('says "none" without a warm-up and shows the scenario options after the command', () => {
    const text = renderSection({ ...input('latency-1k'), scenarioArgs: '--pairs 50 --rate 1000' });
    expect(text).toContain('- Warm-up: none');
    expect(text).toContain('- Command: `node test/pressure/dist/main.js --pairs 1` (scenario `latency-1k`: `--pairs 50 --rate 1000`)');
  });

  it('has a warm-up row and the measured throughput in the terminal table', () => {
    const text = formatSummary(warmStats(), 2, { ok: true, reasons: [] }, 1);
    expect(text).toMatch(/^sent\s+24 {2}\(10\/s over 2\.0 s\)$/m);
    expect(text).toMatch(/^warm-up\s+1\.0 s at the same load, 4 messages sent/m);
    expect(text).toMatch(/^measured throughput\s+ACKed 10\/s, delivered 10\/s$/m);
    expect(text).toMatch(/^send → ACK\s+p50 2\.00 {2}p95 2\.00 {2}p99 2\.00 {2}max 2\.00 ms {2}\(20\)$/m);
    expect(formatSummary(sampleStats(), 2, { ok: true, reasons: [] })).not.toContain('warm-up');
  });
});

describe('upsertSection', () => {
  it('writes the header explaining the numbers and refreshes it, leaving a hand-written intro alone', () => {
    const text = upsertSection(undefined, 'a', renderSection(input('a')));
    expect(text).toContain(REPORT_HEADER);
    expect(text).toContain('How to read the numbers');
    const stale = text.replace('How to read the numbers:', 'Old words.');
    expect(upsertSection(stale, 'a', renderSection(input('a')))).toBe(text);
    const hand = '# Mine\n\nHand-written.\n';
    expect(upsertSection(hand, 'a', renderSection(input('a')))).toBe(`${hand}\n${renderSection(input('a'))}`);
  });

  it('creates a titled file', () => {
    const text = upsertSection(undefined, 'a', renderSection(input('a')));
    expect(text.startsWith(`${REPORT_TITLE}\n`)).toBe(true);
    expect(text).toContain('## a');
  });

  it('appends new labels and replaces the same label, keeping the others and free text', () => {
    let text = upsertSection(undefined, 'a', renderSection(input('a')));
    text += '\nNotes written by hand.\n';
    text = upsertSection(text, 'b', renderSection(input('b')));
    const replaced = renderSection({ ...input('a'), command: 'node main.js --pairs 99' });
    text = upsertSection(text, 'a', replaced);
    expect(text.match(/## a\n/g)).toHaveLength(1);
    expect(text).toContain('--pairs 99');
    expect(text).toContain('## b');
    expect(text).toContain('Notes written by hand.');
    expect(text.indexOf('## a')).toBeLessThan(text.indexOf('## b'));
    // Replacing again is stable.
    expect(upsertSection(text, 'a', replaced)).toBe(text);
  });

  it('does not confuse a label with a longer one that starts the same', () => {
    let text = upsertSection(undefined, 'run 1', renderSection(input('run 1')));
    text = upsertSection(text, 'run 10', renderSection(input('run 10')));
    text = upsertSection(text, 'run 1', renderSection({ ...input('run 1'), scenario: 'changed' }));
    expect(text.match(/## run 10\n/g)).toHaveLength(1);
    expect(text.match(/## run 1\n/g)).toHaveLength(1);
    expect(text).toContain('changed');
  });
});

describe('redactArgs', () => {
  it('hides passwords and URL credentials and quotes what the shell would split', () => {
    expect(redactArgs(['node', 'main.js', '--password', 's3cret', '--create-users', 'mysql://root:pw@127.0.0.1:3306/tt', '--label', 'two words'])).toBe(
      "node main.js --password '***' --create-users 'mysql://root:***@127.0.0.1:3306/tt' --label 'two words'",
    );
    expect(redactArgs(['--password=x'])).toBe("'--password=***'");
  });
});

describe('formatSummary', () => {
  it('prints one row per metric and the verdict', () => {
    const text = formatSummary(sampleStats(), 2, { ok: true, reasons: [] });
    expect(text).toMatch(/^sent\s+10 {2}\(5\/s over 2\.0 s\)$/m);
    expect(text).toMatch(/^result\s+PASS$/m);
  });
});
