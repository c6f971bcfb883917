import { formatIdleConnsSummary, gcKibPerConnection, idleConnsVerdict, kibPerConnection, renderIdleConnsSection } from './idle-conns-report';
import type { IdleConnsSummary } from './idle-conns';

const summary = (over: Partial<IdleConnsSummary> = {}): IdleConnsSummary => ({
  conns: 4,
  sourceAddrs: ['127.0.0.2', '127.0.0.3'],
  concurrency: 100,
  maxPerSourceAndGateway: 1,
  loggedIn: 4,
  connectSec: 2,
  holdSec: 35,
  heartbeatMs: 30_000,
  errors: {},
  dropped: 0,
  gateways: [
    { name: 'msg-1', heldConnected: 4, held: 2, rssBeforeKiB: 100 * 1024, rssConnectedKiB: 110 * 1024, rssAfterKiB: 100 * 1024 + 200 },
    { name: 'msg-2', heldConnected: 2, held: 2, rssBeforeKiB: undefined, rssConnectedKiB: undefined, rssAfterKiB: undefined },
  ],
  samples: [],
  loadAverage: [3.25, 2, 1],
  ...over,
});

it('passes when every connection logged in and stayed, fails on failures or drops', () => {
  expect(idleConnsVerdict(summary()).ok).toBe(true);
  expect(idleConnsVerdict(summary({ loggedIn: 3, errors: { EADDRNOTAVAIL: 1 } })).reasons).toEqual(['1 of 4 connections not logged in']);
  expect(idleConnsVerdict(summary({ dropped: 2 })).reasons).toEqual(['2 dropped while idle']);
});

it('computes KiB per connection from RSS before and after the idle time', () => {
  expect(kibPerConnection(100 * 1024, 100 * 1024 + 200, 2)).toBe(100);
  expect(kibPerConnection(undefined, 100, 2)).toBeUndefined();
  expect(kibPerConnection(100, 200, 0)).toBeUndefined();
});

it('reports each gateway in the terminal and in the section', () => {
  const text = formatIdleConnsSummary(summary(), idleConnsVerdict(summary()));
  expect(text).toContain('logged in: 4/4 in 2.0 s (2 logins/s), then idle 35.0 s; dropped 0');
  expect(text).toContain('  msg-1: RSS 100.0 MiB → 110.0 MiB with 4 connected (2560.0 KiB each) → 100.2 MiB with 2 after idle (100.0 KiB each)');
  const section = renderIdleConnsSection({
    label: 'idle-conns',
    command: 'node test/pressure/dist/main.js --mode idle-conns',
    date: new Date('2026-12-06T12:00:00Z'),
    machine: { cpuModel: 'cpu', cpuCount: 2, totalMemBytes: 2 ** 32, node: 'v20', kernel: 'Linux', arch: 'x64' },
    scenario: 'x',
    toolCpuPercent: 10,
    summary: summary(),
    verdict: idleConnsVerdict(summary()),
  });
  expect(section).toContain('<!-- tt-pressure:begin idle-conns -->');
  expect(section).toContain('load average at the start 3.3 / 2.0 / 1.0 (1 / 5 / 15 min)');
  expect(section).toContain('| msg-1 | 100.0 MiB | 4 | 110.0 MiB | **2560.0** | 2 | 100.2 MiB | **100.0** |');
  expect(section).toContain('| msg-2 | – | 2 | – | **–** | 2 | – | **–** |');
});

it('reports heap, external and RSS per connection after a forced GC when the gateway has an inspector', () => {
  const mem = (heapUsedMiB: number, rssMiB: number) => ({ rss: rssMiB * 1024 * 1024, heapTotal: 0, heapUsed: heapUsedMiB * 1024 * 1024, external: 1024 * 1024, arrayBuffers: 0 });
  expect(gcKibPerConnection(mem(20, 100), mem(21, 101), 'heapUsed', 512)).toBe(2);
  expect(gcKibPerConnection(undefined, mem(21, 101), 'heapUsed', 512)).toBeUndefined();
  const s = summary({
    gateways: [{ name: 'msg-1', heldConnected: 512, held: 512, rssBeforeKiB: 1, rssConnectedKiB: 2, rssAfterKiB: 2, gcBefore: mem(20, 100), gcConnected: mem(22, 104), gcAfter: mem(21, 102) }],
  });
  expect(formatIdleConnsSummary(s, idleConnsVerdict(s))).toContain('msg-1 after a full GC: heap used 20.0 MiB → 21.0 MiB (2.00 KiB each), external 0.00 KiB each (ArrayBuffers 0.00), RSS 102.0 MiB (4.00 KiB each)');
  const section = renderIdleConnsSection({
    label: 'x',
    command: 'c',
    date: new Date(0),
    machine: { cpuModel: 'cpu', cpuCount: 2, totalMemBytes: 2 ** 32, node: 'v20', kernel: 'Linux', arch: 'x64' },
    scenario: 's',
    toolCpuPercent: 1,
    summary: s,
    verdict: idleConnsVerdict(s),
    heapBreakdown: { gateway: 'msg-1', conns: 512, rows: [{ type: 'Socket', count: 1, bytes: 280 }] },
  });
  expect(section).toContain('| msg-1 | after idle | 512 | 21.0 MiB | **2.00** |');
  expect(section).toContain('| Socket | 1.00 | 280 |');
});
