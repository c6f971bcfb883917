// Which metric names a PromQL expression reads, for the metrics tests; the
// exposition parser itself lives in the testkit (the pressure tool uses it too).
import { parser } from '@prometheus-io/lezer-promql';
import type { Exposition } from '@tiertalk/testkit';

export { parseExposition, sumOf } from '@tiertalk/testkit';
export type { Exposition, Sample } from '@tiertalk/testkit';

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
