// many-conns at tiny scale through the real CLI against a spawned cluster:
// 20 connections placed by the login server's /msg_server, 15 msg/s each, the
// gateways' default flood control. Nothing may be lost or duplicated; the report
// gives CPU per process and the run's plot point lands in the JSON and the SVG.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readPoints } from './bench-plot';

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '../../..');
const MAIN = path.join(ROOT, 'test/pressure/dist/main.js');

it('delivers every message of 20 connections at 15 msg/s once, placed by /msg_server, with CPU per process and a plot point', async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm run build first`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'many-conns-'));
  const report = path.join(dir, 'BENCH.md');
  const points = path.join(dir, 'plot.json');
  const args = [
    MAIN, '--spawn-cluster', '--label', 'many-conns-tiny', '--users-prefix', 'mctiny-',
    '--pairs', '10', '--rate', '300', '--duration', '3', '--warmup', '1', '--drain', '10',
    '--via-login', '--msg-rate-limit', 'default', '--plot-series', 'many-conns-tiny',
    '--report', report, '--points', points, '--note', 'e2e test',
  ];
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });

  const text = readFileSync(report, 'utf8');
  expect(text).toContain('## many-conns-tiny');
  expect(text).toContain('**PASS** (nothing lost, duplicated or misrouted)');
  expect(text).toContain('| lost (ACKed, never delivered) | 0 |');
  expect(text).toMatch(/\| duplicated \(delivered more than once\) \| 0 \|/);
  // Every message was ACKed: the flood control at its default (20/s per connection) lets 15/s through.
  expect(text).toMatch(/\| failed \(no ACK\) \| 0 \|/);
  expect(text).toContain('via login server http://127.0.0.1:');
  expect(text).toContain('flood control at the gateway defaults');
  expect(text).toContain('- Note: e2e test');
  // CPU per process: both gateways, the other tiers and the tool, and the cluster's cost per message.
  for (const proc of ['msg-1', 'msg-2', 'route-1', 'db-proxy-1', 'login', 'pressure tool']) expect(text).toMatch(new RegExp(`\\| ${proc} \\| \\d+\\.\\d\\d \\|`));
  expect(text).toMatch(/\| \*\*cluster total\*\* \(tool excluded\) \| \*\*\d+\.\d\d\*\* \| \*\*\d+%\*\* \| \*\*\d+(\.\d+)? (µs|ms)\*\* \|/);

  const [point] = readPoints(points);
  expect(point).toMatchObject({ series: 'many-conns-tiny', kind: '1:1', offered: 300, lost: 0, duplicated: 0, note: 'e2e test' });
  expect(point.delivered).toBeGreaterThan(0);
  expect(readFileSync(path.join(dir, 'plot.svg'), 'utf8')).toContain('many-conns-tiny: delivered');
  expect(stdout).toContain('result                 PASS');
});
