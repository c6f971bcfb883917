import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readPoints, renderPlotSvg, renderPointsFile, upsertPoint, writePoints, type BenchPoint } from './bench-plot';

function point(p: Partial<BenchPoint> & Pick<BenchPoint, 'series' | 'kind' | 'offered'>): BenchPoint {
  return {
    label: `${p.series}-${p.offered}`,
    acked: p.offered,
    delivered: p.offered,
    ackP99Ms: 5,
    deliveryP99Ms: 8,
    lost: 0,
    duplicated: 0,
    date: '2026-12-06T14:00:00.000Z',
    ...p,
  };
}

const sample: BenchPoint[] = [
  point({ series: 'many-conns', kind: '1:1', offered: 5000 }),
  point({ series: 'many-conns', kind: '1:1', offered: 30000, acked: 12000, delivered: 11900, ackP99Ms: 900, deliveryP99Ms: 1200 }),
  point({ series: 'group-2000-default', kind: 'group', offered: 2, acked: 2, delivered: 3998, expected: 3998, deliveryP99Ms: 40 }),
  point({ series: 'group-2000-default', kind: 'group', offered: 20, acked: 20, delivered: 4000, expected: 39980, deliveryP99Ms: 25000 }),
];

describe('bench-plot', () => {
  it('keeps one point per series and offered load, sorted', () => {
    const newer = point({ series: 'many-conns', kind: '1:1', offered: 5000, acked: 4999 });
    const points = upsertPoint(sample, newer);
    expect(points.filter((p) => p.series === 'many-conns').map((p) => [p.offered, p.acked])).toEqual([
      [5000, 4999],
      [30000, 12000],
    ]);
    expect(points.map((p) => p.series)).toEqual(['group-2000-default', 'group-2000-default', 'many-conns', 'many-conns']);
  });

  it('renders an SVG with both columns, their axes and every series', async () => {
    const svg = await renderPlotSvg(sample);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of [
      'TierTalk: throughput and p99 against offered load',
      '1:1 messages, open loop: throughput',
      '1:1 messages, open loop: p99 latency',
      'one group, all members online: throughput',
      'offered msg/s',
      'group messages offered per second',
      'deliveries/s',
      'p99 ms (log scale)',
      'many-conns: ACKed',
      'many-conns: delivered',
      'many-conns: end-to-end p99',
      'group-2000-default: expected deliveries',
    ]) {
      expect(svg).toContain(text);
    }
    // The points themselves: one symbol per point and measure (3 throughput + 2 latency per 1:1 point, 2 + 2 per group point).
    expect(svg.match(/role-mark[^"]*"[^>]*>/g)?.length).toBeGreaterThan(0);
  });

  it('renders only the kinds it has, and refuses no points at all', async () => {
    const svg = await renderPlotSvg(sample.filter((p) => p.kind === '1:1'));
    expect(svg).toContain('1:1 messages, open loop: throughput');
    expect(svg).not.toContain('one group, all members online');
    await expect(renderPlotSvg([])).rejects.toThrow('no points to plot');
  });

  it('re-renders the SVG next to the points file from the JSON alone', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-plot-'));
    const file = path.join(dir, 'bench-plot.json');
    writePoints(file, sample);
    expect(readPoints(file)).toEqual(sample);
    const svgFile = await renderPointsFile(file);
    expect(svgFile).toBe(path.join(dir, 'bench-plot.svg'));
    expect(readFileSync(svgFile, 'utf8')).toContain('many-conns: ACKed');
    expect(readPoints(path.join(dir, 'missing.json'))).toEqual([]);
  });
});
