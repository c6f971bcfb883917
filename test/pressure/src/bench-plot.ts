// The benchmark plot: throughput and p99 against offered load, one column per
// kind of scenario (1:1 open loop, group), from the raw points a run keeps in
// a JSON file (docs/bench-plot.json). Vega-Lite compiles the spec, Vega renders it to SVG headless.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as vega from 'vega';
import * as vl from 'vega-lite';

export type PointKind = '1:1' | 'group';

/** One scenario run at one offered load. */
export interface BenchPoint {
  series: string;
  kind: PointKind;
  /** The scenario label it came from. */
  label: string;
  /** 1:1: offered msg/s; group: group messages offered per second. */
  offered: number;
  /** 1:1: ACKed msg/s; group: group messages ACKed (posted) per second. */
  acked: number;
  /** 1:1: delivered msg/s; group: live deliveries per second. */
  delivered: number;
  /** group: deliveries/s expected (ACKed/s × (online − 1)); absent for 1:1. */
  expected?: number;
  ackP99Ms: number;
  /** send → delivery p99. */
  deliveryP99Ms: number;
  lost: number;
  duplicated: number;
  /** ISO date of the run. */
  date: string;
  /** e.g. "loaded machine, preliminary". */
  note?: string;
}

export interface PointsFile {
  /** What the points are and how to re-render. */
  about: string;
  points: BenchPoint[];
}

const ABOUT =
  'Raw points of docs/bench-plot.svg, written by the pressure tool (--plot-series, --points). ' +
  'Re-render: node test/pressure/dist/plot-main.js docs/bench-plot.json';

export function readPoints(file: string): BenchPoint[] {
  if (!existsSync(file)) return [];
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<PointsFile>;
  if (!Array.isArray(parsed.points)) throw new Error(`${file}: no "points" array`);
  return parsed.points;
}

/** The points with `p` in place of the one of the same series and offered load. */
export function upsertPoint(points: readonly BenchPoint[], p: BenchPoint): BenchPoint[] {
  const rest = points.filter((x) => !(x.series === p.series && x.offered === p.offered));
  return [...rest, p].sort((a, b) => a.series.localeCompare(b.series) || a.offered - b.offered);
}

export function writePoints(file: string, points: readonly BenchPoint[]): void {
  const body: PointsFile = { about: ABOUT, points: [...points] };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
}

/** The SVG next to a points file: docs/bench-plot.json → docs/bench-plot.svg. */
export function svgPathFor(pointsFile: string): string {
  return pointsFile.replace(/\.json$/, '') + '.svg';
}

const KIND_AXES: Record<PointKind, { title: string; x: string; y: string }> = {
  '1:1': { title: '1:1 messages, open loop', x: 'offered msg/s', y: 'msg/s' },
  group: { title: 'one group, all members online', x: 'group messages offered per second', y: 'deliveries/s' },
};

function throughputRows(points: readonly BenchPoint[], kind: PointKind): Record<string, unknown>[] {
  return points
    .filter((p) => p.kind === kind)
    .flatMap((p) =>
      kind === '1:1'
        ? [
            { series: p.series, offered: p.offered, measure: `${p.series}: offered`, value: p.offered },
            { series: p.series, offered: p.offered, measure: `${p.series}: ACKed`, value: p.acked },
            { series: p.series, offered: p.offered, measure: `${p.series}: delivered`, value: p.delivered },
          ]
        : [
            { series: p.series, offered: p.offered, measure: `${p.series}: expected deliveries`, value: p.expected ?? 0 },
            { series: p.series, offered: p.offered, measure: `${p.series}: delivered`, value: p.delivered },
          ],
    );
}

function latencyRows(points: readonly BenchPoint[], kind: PointKind): Record<string, unknown>[] {
  return points
    .filter((p) => p.kind === kind)
    .flatMap((p) => [
      { series: p.series, offered: p.offered, measure: `${p.series}: ACK p99`, value: p.ackP99Ms },
      { series: p.series, offered: p.offered, measure: `${p.series}: end-to-end p99`, value: p.deliveryP99Ms },
    ])
    // A p99 of 0: nothing was ACKed or delivered in the measured period; a log scale has no place for it.
    .filter((r) => r.value > 0);
}

function lineChart(title: string, rows: Record<string, unknown>[], x: string, y: string, log: boolean): vl.TopLevelSpec {
  return {
    title,
    width: 320,
    height: 200,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'offered', type: 'quantitative', title: x },
      y: { field: 'value', type: 'quantitative', title: y, scale: log ? { type: 'log' } : { zero: true } },
      color: { field: 'measure', type: 'nominal', title: null },
    },
  } as unknown as vl.TopLevelSpec;
}

/** The Vega-Lite spec: a column per kind present, throughput above, p99 (log scale) below. */
export function plotSpec(points: readonly BenchPoint[], subtitle: string): vl.TopLevelSpec {
  const kinds = (['1:1', 'group'] as const).filter((k) => points.some((p) => p.kind === k));
  if (kinds.length === 0) throw new Error('no points to plot');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'TierTalk: throughput and p99 against offered load', subtitle },
    background: 'white',
    config: { legend: { labelLimit: 400 } },
    hconcat: kinds.map((k) => ({
      vconcat: [
        lineChart(`${KIND_AXES[k].title}: throughput`, throughputRows(points, k), KIND_AXES[k].x, KIND_AXES[k].y, false),
        lineChart(`${KIND_AXES[k].title}: p99 latency`, latencyRows(points, k), KIND_AXES[k].x, 'p99 ms (log scale)', true),
      ],
      resolve: { scale: { color: 'independent' } },
    })),
    resolve: { scale: { color: 'independent' } },
  } as unknown as vl.TopLevelSpec;
}

/** SVG text of the plot of these points. */
export async function renderPlotSvg(points: readonly BenchPoint[]): Promise<string> {
  const dates = points.map((p) => p.date.slice(0, 10)).sort();
  const notes = [...new Set(points.flatMap((p) => (p.note ? [p.note] : [])))];
  const subtitle = `${points.length} runs, ${dates[0]}${dates[dates.length - 1] !== dates[0] ? ` to ${dates[dates.length - 1]}` : ''}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`;
  const compiled = vl.compile(plotSpec(points, subtitle)).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Re-renders the SVG next to a points file from all its points; returns its path. */
export async function renderPointsFile(pointsFile: string, svgFile = svgPathFor(pointsFile)): Promise<string> {
  writeFileSync(svgFile, await renderPlotSvg(readPoints(pointsFile)));
  return svgFile;
}
