import { RefusalLog, refusalCount, startMetricsServer } from '@tiertalk/metrics';

describe('RefusalLog', () => {
  it('counts every refusal but logs an offender once per interval, then reports the suppressed', async () => {
    const lines: Array<Record<string, unknown>> = [];
    let now = 1_000;
    const log = new RefusalLog({ warn: (o) => lines.push(o as Record<string, unknown>) }, 60_000, 100, () => now);
    const before = await refusalCount('test_flood');
    for (let i = 0; i < 500; i++) log.refuse('test_flood', '10.0.0.1');
    log.refuse('test_flood', '10.0.0.2');
    expect(await refusalCount('test_flood')).toBe(before + 501);
    expect(lines.map((l) => l.offender)).toEqual(['10.0.0.1', '10.0.0.2']);
    now += 60_000;
    log.refuse('test_flood', '10.0.0.1');
    expect(lines[2]).toMatchObject({ offender: '10.0.0.1', suppressed: 499 });
  });

  it('keeps its memory bounded under many distinct offenders', () => {
    const log = new RefusalLog({ warn: () => undefined }, 60_000, 50, () => 0);
    for (let i = 0; i < 10_000; i++) log.refuse('test_many', `ip-${i}`);
    expect((log as unknown as { lastLogged: Map<string, unknown> }).lastLogged.size).toBeLessThanOrEqual(50);
  });
});

describe('metrics server', () => {
  it('serves the registry as Prometheus text at /metrics and 404 elsewhere', async () => {
    const log = new RefusalLog({ warn: () => undefined });
    log.refuse('test_http', 'x');
    const server = await startMetricsServer('127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect(await res.text()).toMatch(/tt_refusals_total\{reason="test_http"\} 1/);
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
