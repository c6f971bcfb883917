import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkReadableSize, formatBreakdown, perConnectionBreakdown, readHeapSnapshotSummary, summariseHeapSnapshot, typeKey, type HeapSnapshotJson } from './heap-snapshot-summary';

// The layout V8 writes: node_fields, and node_types[0] naming the type numbers.
function snapshot(nodes: [type: number, name: number, size: number][], strings: string[]): HeapSnapshotJson {
  return {
    snapshot: { meta: { node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'], node_types: [['hidden', 'array', 'string', 'object', 'code', 'closure'], 'string'] } },
    nodes: nodes.flatMap(([type, name, size], i) => [type, name, i + 1, size, 0]),
    strings,
  };
}

it('sums self sizes by constructor for objects and by kind for strings and code', () => {
  const totals = summariseHeapSnapshot(
    snapshot(
      [
        [3, 0, 256],
        [3, 0, 256],
        [2, 1, 40],
        [2, 2, 24],
        [4, 3, 1000],
        [5, 4, 56],
      ],
      ['Connection', '127.0.0.1:5000', 'user:7', 'onData', 'onClose'],
    ),
  );
  expect(totals.get('Connection')).toEqual({ count: 2, bytes: 512 });
  expect(totals.get('(string)')).toEqual({ count: 2, bytes: 64 });
  expect(totals.get('(code)')).toEqual({ count: 1, bytes: 1000 });
  expect(totals.get('closure onClose')).toEqual({ count: 1, bytes: 56 });
  expect(typeKey('closure', '')).toBe('closure (anonymous)');
});

it('divides the growth between two snapshots by the connections, largest first, small rows folded', () => {
  const before = new Map([
    ['Connection', { count: 0, bytes: 0 }],
    ['Object', { count: 100, bytes: 5000 }],
  ]);
  const held = new Map([
    ['Connection', { count: 10, bytes: 2560 }],
    ['Object', { count: 110, bytes: 5040 }],
    ['Socket', { count: 10, bytes: 2800 }],
  ]);
  const rows = perConnectionBreakdown(before, held, 10);
  expect(rows).toEqual([
    { type: 'Socket', count: 1, bytes: 280 },
    { type: 'Connection', count: 1, bytes: 256 },
    { type: '(other)', count: 1, bytes: 4 },
  ]);
  expect(formatBreakdown(rows)).toContain('| **total** | | **540** |');
});

// The snapshot comes from a small child process: a snapshot of the jest worker
// itself grows with every suite the worker ran (in CI past V8's string limit).
it('reads a heap snapshot V8 wrote and finds the objects that process held', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'heap-summary-'));
  try {
    const file = path.join(dir, 'x.heapsnapshot');
    const script = `
      class HeldForTheSnapshot { constructor(n) { this.n = n; } }
      globalThis.held = Array.from({ length: 500 }, (_, i) => new HeldForTheSnapshot(i));
      require('node:v8').writeHeapSnapshot(process.argv[1]);`;
    execFileSync(process.execPath, ['-e', script, file], { stdio: 'inherit' });
    const totals = readHeapSnapshotSummary(file);
    expect(totals.get('HeldForTheSnapshot')?.count).toBe(500);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('refuses a snapshot too large to read, naming its size', () => {
  expect(() => checkReadableSize(2 ** 31)).toThrow(/2048 MiB.*fewer connections/);
  expect(() => checkReadableSize(1024)).not.toThrow();
});
