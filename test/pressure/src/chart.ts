// Text charts for the report: they render in any Markdown viewer and terminal.
const SPARKS = '▁▂▃▄▅▆▇█';

/** One character per value, scaled to the largest. */
export function sparkline(values: readonly number[], max = Math.max(0, ...values)): string {
  if (max <= 0) return values.map(() => SPARKS[0]).join('');
  return values
    .map((v) => SPARKS[Math.min(SPARKS.length - 1, Math.max(0, Math.round((v / max) * (SPARKS.length - 1))))])
    .join('');
}

export interface BarRow {
  label: string;
  value: number;
}

/** Horizontal bars, `width` characters for the largest value, value printed after the bar. */
export function barChart(rows: readonly BarRow[], width = 50): string {
  const max = Math.max(0, ...rows.map((r) => r.value));
  const labelWidth = Math.max(0, ...rows.map((r) => r.label.length));
  return rows
    .map((r) => {
      const n = max > 0 ? Math.round((r.value / max) * width) : 0;
      return `${r.label.padStart(labelWidth)} │${'█'.repeat(n)}${' '.repeat(width - n)} ${Math.round(r.value)}`;
    })
    .join('\n');
}

/**
 * Averages consecutive values into at most `maxRows` buckets so a 300 s run
 * still fits on a screen. Returns rows labelled by their first..last second.
 */
export function bucketSeconds(perSecond: readonly number[], maxRows: number): BarRow[] {
  if (perSecond.length === 0) return [];
  const size = Math.max(1, Math.ceil(perSecond.length / maxRows));
  const rows: BarRow[] = [];
  for (let i = 0; i < perSecond.length; i += size) {
    const slice = perSecond.slice(i, i + size);
    const avg = slice.reduce((a, b) => a + b, 0) / slice.length;
    rows.push({ label: size === 1 ? `${i + 1}s` : `${i + 1}-${i + slice.length}s`, value: avg });
  }
  return rows;
}
