// Reading what a service serves at /metrics (Prometheus text format 0.0.4),
// and which metric names a PromQL expression reads, for the metrics tests.
import { parser } from '@prometheus-io/lezer-promql';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Metric families by name (the `# TYPE` lines). */
  types: Map<string, string>;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice('# TYPE '.length).split(' ');
      types.set(name, type);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, samples };
}

/** The series names a family exposes: a histogram's _bucket, _sum, _count, a summary's _sum and _count. */
export function seriesNames(exposition: Exposition): Set<string> {
  const out = new Set<string>();
  for (const [name, type] of exposition.types) {
    out.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) out.add(name + s);
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `match`. */
export function sumOf(exposition: Exposition, name: string, match: Record<string, string> = {}): number {
  return exposition.samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((acc, s) => acc + s.value, 0);
}

// Grafana's built-in range variables are not PromQL; any duration stands in for them.
const GRAFANA_RANGES = /\$(?:__rate_interval|__interval|__range)\b|\$\{(?:__rate_interval|__interval|__range)\}/g;

/** The metric names a PromQL expression selects; throws on an expression PromQL does not parse. */
export function promqlMetricNames(expr: string): string[] {
  const src = expr.replace(GRAFANA_RANGES, '5m');
  const tree = parser.parse(src);
  const names: string[] = [];
  const errors: number[] = [];
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(node.from);
      // A vector selector's metric name is its Identifier child (labels are LabelMatchers).
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.push(src.slice(node.from, node.to));
    },
  });
  if (errors.length > 0) throw new Error(`not PromQL at offset ${errors[0]}: ${expr}`);
  return names;
}
