import { formatLoginsSummary, loginsVerdict, renderLoginsSection } from './logins-report';
import type { LoginsSummary } from './logins';

const summary = (over: Partial<LoginsSummary> = {}): LoginsSummary => ({
  users: 500,
  concurrency: 200,
  wrongRatio: 0.1,
  wrongPasswords: 'same',
  measuredSec: 15,
  warmupSec: 3,
  attempts: 1500,
  accepted: 1350,
  refusedAsExpected: 150,
  wrongAnswers: 0,
  errors: {},
  latencyMs: { count: 1500, p50: 12, p95: 40, p99: 80, max: 120 },
  samples: [],
  cpuMsPerLogin: { 'db-proxy': 0.7, msg: 1.8 },
  ...over,
});

it('passes when every answer was the expected one, fails on a wrong answer or no login', () => {
  expect(loginsVerdict(summary()).ok).toBe(true);
  expect(loginsVerdict(summary({ wrongAnswers: 3 })).reasons).toEqual(['3 wrong answers']);
  expect(loginsVerdict(summary({ attempts: 0, accepted: 0, refusedAsExpected: 0 })).ok).toBe(false);
});

it('reports logins/s, latency and CPU per login', () => {
  expect(formatLoginsSummary(summary(), loginsVerdict(summary()))).toContain('logins/s: 100 (1350 accepted, 150 wrong passwords refused, in 15.0 s)');
  const section = renderLoginsSection({
    label: 'logins-steady',
    command: 'node test/pressure/dist/main.js --mode logins',
    date: new Date('2026-12-06T09:00:00Z'),
    machine: { cpuModel: 'cpu', cpuCount: 2, totalMemBytes: 2 ** 32, node: 'v20', kernel: 'Linux', arch: 'x64' },
    scenario: 'x',
    toolCpuPercent: 10,
    summary: summary(),
    verdict: loginsVerdict(summary()),
  });
  expect(section).toContain('<!-- tt-pressure:begin logins-steady -->');
  expect(section).toContain('| **100** | 1350 | 150 | 15.0 | 12.0 / 40.0 / 80.0 / 120 | none | db-proxy 0.70, msg 1.80; total 2.50 ms |');
});
