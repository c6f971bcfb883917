// What a gateway's heap holds per connection: two V8 heap snapshots (before the
// first connection, with N held) summed by object type, the difference divided
// by N. Sizes are V8's self (shallow) sizes, so the types partition the heap and
// their sum is the heap growth per connection.
import { constants as bufferConstants } from 'node:buffer';
import { readFileSync, statSync } from 'node:fs';

/** The parts of V8's .heapsnapshot JSON this reads. */
export interface HeapSnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: unknown[] } };
  nodes: number[];
  strings: string[];
}

export interface TypeTotal {
  count: number;
  bytes: number;
}

export interface PerConnectionRow {
  type: string;
  /** Objects of this type per connection (may be fractional: shared or partly created ones). */
  count: number;
  bytes: number;
}

const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);

/** The group a node is counted in: its constructor for objects and natives, its kind otherwise. */
export function typeKey(type: string, name: string): string {
  if (type === 'object') return name;
  if (type === 'closure') return `closure ${name || '(anonymous)'}`;
  if (type === 'native') return `native ${name}`;
  if (STRING_TYPES.has(type)) return '(string)';
  if (type === 'hidden' || type === 'array') return `(${type}) ${name}`;
  return `(${type})`;
}

/** Total self size and count per typeKey. */
export function summariseHeapSnapshot(snap: HeapSnapshotJson): Map<string, TypeTotal> {
  const fields = snap.snapshot.meta.node_fields;
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const typeNames = snap.snapshot.meta.node_types[typeAt] as string[];
  const totals = new Map<string, TypeTotal>();
  const { nodes, strings } = snap;
  for (let i = 0; i < nodes.length; i += stride) {
    const key = typeKey(typeNames[nodes[i + typeAt]], strings[nodes[i + nameAt]]);
    const t = totals.get(key);
    if (t) {
      t.count += 1;
      t.bytes += nodes[i + sizeAt];
    } else {
      totals.set(key, { count: 1, bytes: nodes[i + sizeAt] });
    }
  }
  return totals;
}

/** JSON.parse needs the whole snapshot as one string, and V8 caps a string's length. */
export function checkReadableSize(bytes: number): void {
  if (bytes >= bufferConstants.MAX_STRING_LENGTH) {
    throw new Error(`heap snapshot of ${Math.round(bytes / 2 ** 20)} MiB is past V8's string limit (${Math.floor(bufferConstants.MAX_STRING_LENGTH / 2 ** 20)} MiB); take it with fewer connections`);
  }
}

export function readHeapSnapshotSummary(file: string): Map<string, TypeTotal> {
  checkReadableSize(statSync(file).size);
  return summariseHeapSnapshot(JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshotJson);
}

/**
 * Growth from `before` to `held` per connection, largest first; rows under
 * `minBytes` per connection are folded into one "(other)" row.
 */
export function perConnectionBreakdown(before: Map<string, TypeTotal>, held: Map<string, TypeTotal>, conns: number, minBytes = 8): PerConnectionRow[] {
  if (conns <= 0) return [];
  const rows: PerConnectionRow[] = [];
  const other: PerConnectionRow = { type: '(other)', count: 0, bytes: 0 };
  for (const key of new Set([...before.keys(), ...held.keys()])) {
    const a = before.get(key) ?? { count: 0, bytes: 0 };
    const b = held.get(key) ?? { count: 0, bytes: 0 };
    const row = { type: key, count: (b.count - a.count) / conns, bytes: (b.bytes - a.bytes) / conns };
    if (Math.abs(row.bytes) >= minBytes) rows.push(row);
    else {
      other.count += row.count;
      other.bytes += row.bytes;
    }
  }
  rows.sort((x, y) => y.bytes - x.bytes);
  if (other.bytes !== 0) rows.push(other);
  return rows;
}

/** A Markdown table of the rows, with their total. */
export function formatBreakdown(rows: PerConnectionRow[]): string {
  const total = rows.reduce((a, r) => a + r.bytes, 0);
  return [
    '| object type | per connection | bytes per connection |',
    '|---|---:|---:|',
    ...rows.map((r) => `| ${r.type.replace(/\|/g, '\\|')} | ${r.count.toFixed(2)} | ${Math.round(r.bytes)} |`),
    `| **total** | | **${Math.round(total)}** |`,
  ].join('\n');
}
