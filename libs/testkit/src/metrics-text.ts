// Reading what a service serves at /metrics (Prometheus text format 0.0.4):
// for tests, and for the pressure tool's read of the gateways' counters.
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

/** Sum of the samples of `name` whose labels include `match`. */
export function sumOf(exposition: Exposition, name: string, match: Record<string, string> = {}): number {
  return exposition.samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((acc, s) => acc + s.value, 0);
}

/** GET http://127.0.0.1:<port>/metrics, parsed. */
export async function fetchExposition(port: number, host = '127.0.0.1'): Promise<Exposition> {
  const res = await fetch(`http://${host}:${port}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics on ${host}:${port}: HTTP ${res.status}`);
  return parseExposition(await res.text());
}
