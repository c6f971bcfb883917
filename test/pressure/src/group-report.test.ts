import { GROUP_TABLE_LABEL, groupVerdict, renderGroupRow, renderGroupSection, upsertGroupRow, type GroupRow } from './group-report';
import type { GroupSummary } from './group-stats';
import { beginMarker, endMarker } from './report';

const latency = { count: 10, p50: 12.34, p95: 40, p99: 55.5, max: 80, mean: 20 };

function summary(over: Partial<GroupSummary> = {}): GroupSummary {
  return {
    members: 2000,
    online: 2000,
    sent: 10,
    acked: 10,
    failed: 0,
    expectedDeliveries: 19_990,
    delivered: 19_990,
    duplicates: 0,
    echoes: 0,
    deliveredUnacked: 0,
    rawFrames: 19_990,
    shed: 0,
    lostFromStorage: 0,
    storedUnacked: 0,
    sendingSec: 10,
    deliverySec: 10,
    ackLatency: latency,
    deliveryLatency: latency,
    deliveriesPerSecond: [1999, 1999],
    ...over,
  };
}

function row(scenario: string, over: Partial<GroupSummary> = {}): GroupRow {
  return {
    scenario,
    summary: summary(over),
    pushControl: true,
    tiers: [
      { tier: 'msg', processes: 2, cpuPercent: 41.6, cpuPeakPercent: 70.2, rssMb: 180.4 },
      { tier: 'db-proxy', processes: 1, cpuPercent: 5, cpuPeakPercent: 9, rssMb: 120 },
    ],
  };
}

describe('group table', () => {
  it('renders one row with rates, latency and per-tier CPU and RSS', () => {
    expect(renderGroupRow(row('g1'))).toBe('| g1 | 2000 | all | on | 1 | 1999 | 12.3 / 55.5 | 0 | 0 | 0 | 42 (peak 70) | – | 5 (peak 9) | 180 | – | 120 |');
    expect(renderGroupRow({ ...row('g2', { online: 4, deliveryLatency: { ...latency, count: 0 } }), pushControl: false })).toContain('| g2 | 2000 | 4 | off |');
    expect(renderGroupRow(row('g3', { online: 4, deliveryLatency: { ...latency, count: 0 } }))).toContain('| – | 0 | 0 | 0 |');
  });

  it('creates the table section, appends new scenarios and replaces a re-run row in place', () => {
    const before = '# TierTalk benchmarks\n\nother text\n';
    const one = upsertGroupRow(before, row('g1'), ['intro']);
    expect(one.startsWith(before)).toBe(true);
    expect(one).toContain(beginMarker(GROUP_TABLE_LABEL));
    expect(one).toContain(endMarker(GROUP_TABLE_LABEL));
    const two = upsertGroupRow(`${one}\nafter\n`, row('g2'), ['intro']);
    const three = upsertGroupRow(two, row('g1', { shed: 77 }), ['intro']);
    const rows = three.split('\n').filter((l) => /^\| g\d /.test(l));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('| g1 |');
    expect(rows[0]).toContain('| 0 | 77 | 0 |');
    expect(rows[1]).toContain('| g2 |');
    expect(three.endsWith('after\n')).toBe(true);
    expect(three.split(beginMarker(GROUP_TABLE_LABEL))).toHaveLength(2);
  });
});

describe('group verdict and section', () => {
  it('fails on storage loss and duplicates, not on shed pushes', () => {
    expect(groupVerdict(summary({ shed: 500 }))).toEqual({ ok: true, reasons: [] });
    expect(groupVerdict(summary({ lostFromStorage: 2, duplicates: 3 })).reasons).toEqual(['2 lost from storage', '3 duplicated deliveries']);
  });

  it('renders the detail section between the scenario markers', () => {
    const meta = {
      label: 'g1',
      command: 'node main.js --mode group',
      date: new Date('2026-01-01T00:00:00Z'),
      machine: { cpuModel: 'cpu', cpuCount: 2, totalMemBytes: 2 * 1024 ** 3, node: 'v20', kernel: 'Linux', arch: 'x64' },
      scenario: 'one group',
    };
    const text = renderGroupSection({
      ...meta,
      toolCpuPercent: 50,
      summary: summary({ shed: 5 }),
      tiers: row('g1').tiers,
      verdict: { ok: true, reasons: [] },
    });
    expect(text.startsWith(`${beginMarker('g1')}\n## g1\n`)).toBe(true);
    expect(text.endsWith(`${endMarker('g1')}\n`)).toBe(true);
    expect(text).toContain('| shed (expected − delivered, after the drain) | 5 |');
    expect(text).toContain('| msg | 2 | 42 | 70 | 180 |');
    expect(text).not.toContain('CPU from the start of sending');
    const withCpu = renderGroupSection({
      ...meta,
      summary: summary(),
      tiers: [],
      verdict: { ok: true, reasons: [] },
      cpu: { rows: [{ name: 'msg-1', service: 'msg', seconds: 4 }], wallSec: 20, units: 20_000, unitName: 'delivery' },
    });
    expect(withCpu).toContain('CPU from the start of sending to the end of the drain');
    expect(withCpu).toContain('| msg-1 | 4.00 | 20% | 200 µs |');
  });
});
