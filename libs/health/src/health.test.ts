import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { HealthService, Readiness, probeRoutes, serveHealth, startPeriodicProbe, watchRedis } from '@tiertalk/health';
import { startMetricsServer, type MetricsServer } from '@tiertalk/metrics';
import { bindServer, createServer, insecureLoopback } from '@tiertalk/rpc';
import { PrivateRedis, waitFor } from '@tiertalk/testkit';

jest.setTimeout(60_000);

describe('Readiness', () => {
  it('is ready only when every critical check passes; advisory failures are warnings', () => {
    const r = new Readiness('svc');
    const db = r.add('mysql:master');
    const peers = r.add('peers', { critical: false, initialReason: 'none yet' });
    expect(r.report()).toMatchObject({ ready: false, reasons: ['mysql:master: not checked yet'], warnings: ['peers: none yet'] });
    db.pass();
    expect(r.report()).toMatchObject({ service: 'svc', ready: true, draining: false, reasons: [], warnings: ['peers: none yet'] });
    expect(r.report().checks['mysql:master']).toMatchObject({ ok: true, critical: true });
    db.fail('connect ECONNREFUSED');
    expect(r.report()).toMatchObject({ ready: false, reasons: ['mysql:master: connect ECONNREFUSED'] });
    expect(() => r.add('mysql:master')).toThrow(/added twice/);
  });

  it('stays not ready once draining, whatever the checks say, and tells listeners of every change', () => {
    const r = new Readiness('svc');
    const c = r.add('x');
    const seen: boolean[] = [];
    r.onChange((report) => seen.push(report.ready));
    c.pass();
    c.pass();
    r.drain();
    c.fail('gone');
    c.pass();
    expect(seen).toEqual([false, true, false, false, false]);
    expect(r.report()).toMatchObject({ ready: false, draining: true, reasons: ['draining: shutting down'] });
  });
});

describe('HTTP probes', () => {
  let server: MetricsServer;
  const readiness = new Readiness('svc');
  const check = readiness.add('redis:unread');

  beforeAll(async () => {
    server = await startMetricsServer('127.0.0.1', 0, [probeRoutes(readiness)]);
  });
  afterAll(() => server.close());

  it('answers /healthz 200 always and /readyz 503 with the reasons, then 200 once ready; /metrics still served', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const live = await fetch(`${base}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ service: 'svc', alive: true });

    check.fail('connection closed');
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('content-type')).toBe('application/json');
    expect(await notReady.json()).toMatchObject({ ready: false, reasons: ['redis:unread: connection closed'], checks: { 'redis:unread': { ok: false, reason: 'connection closed' } } });

    check.pass();
    const ready = await fetch(`${base}/readyz?verbose`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, reasons: [] });
    expect((await fetch(`${base}/readyz`, { method: 'HEAD' })).status).toBe(200);
    expect((await fetch(`${base}/readyz`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    expect((await fetch(`${base}/other`)).status).toBe(404);
  });
});

describe('periodic probe', () => {
  it('fails a probe that does not answer within the timeout, and passes once it answers', async () => {
    const r = new Readiness('svc');
    const c = r.add('slow');
    let hang = true;
    const probe = startPeriodicProbe(c, () => (hang ? new Promise(() => undefined) : Promise.resolve()), { intervalMs: 50, timeoutMs: 100, what: 'no answer to SELECT 1' });
    try {
      await waitFor(() => r.report().checks.slow.reason === 'no answer to SELECT 1 within 100 ms', 5_000, { what: 'the timeout' });
      hang = false;
      await waitFor(() => r.ready, 5_000, { what: 'the probe to pass' });
    } finally {
      await probe.stop();
    }
  });
});

describe('grpc.health.v1.Health', () => {
  const HealthClient = grpc.makeGenericClientConstructor(HealthService, 'Health');
  type Status = { status: string };

  it('answers Check for "" and the service name, streams flips to Watch, and ends Watch streams on drain', async () => {
    const readiness = new Readiness('svc');
    const dep = readiness.add('dep');
    const server = createServer({ security: insecureLoopback() });
    serveHealth(server, readiness, 'tiertalk.Test');
    const port = await bindServer(server, '127.0.0.1', 0);
    const client = new HealthClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const check = (service: string): Promise<string> =>
      new Promise((resolve, reject) =>
        client.makeUnaryRequest(
          HealthService.Check.path,
          HealthService.Check.requestSerialize,
          HealthService.Check.responseDeserialize,
          { service },
          (err: grpc.ServiceError | null, rsp?: unknown) => (err ? reject(err) : resolve((rsp as Status).status)),
        ),
      );
    try {
      expect(await check('')).toBe('NOT_SERVING');
      const watch = client.makeServerStreamRequest(HealthService.Watch.path, HealthService.Watch.requestSerialize, HealthService.Watch.responseDeserialize, { service: 'tiertalk.Test' });
      const statuses: string[] = [];
      watch.on('data', (m: Status) => statuses.push(m.status));
      watch.on('error', () => undefined);
      await waitFor(() => statuses.length === 1, 5_000, { what: 'the first Watch answer' });
      dep.pass();
      await waitFor(() => statuses.length === 2, 5_000, { what: 'SERVING on the Watch stream' });
      expect(await check('')).toBe('SERVING');
      expect(await check('tiertalk.Test')).toBe('SERVING');
      await expect(check('other')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      readiness.drain();
      await once(watch, 'end');
      expect(statuses).toEqual(['NOT_SERVING', 'SERVING', 'NOT_SERVING']);
      expect(await check('tiertalk.Test')).toBe('NOT_SERVING');
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

describe('watchRedis against a real Redis', () => {
  let redisServer: PrivateRedis;
  beforeAll(async () => {
    redisServer = await PrivateRedis.start();
  });
  afterAll(() => redisServer?.destroy());

  it('fails while the server is stopped and passes again once it is back', async () => {
    const readiness = new Readiness('svc');
    const client = new Redis(redisServer.url(), { maxRetriesPerRequest: 2 });
    client.on('error', () => undefined);
    const watcher = watchRedis(readiness.add('redis:session'), client, { intervalMs: 200 });
    try {
      await waitFor(() => readiness.ready, 10_000, { what: 'redis:session to pass' });
      await redisServer.stop();
      await waitFor(() => !readiness.ready, 10_000, { what: 'redis:session to fail' });
      expect(readiness.report().reasons[0]).toMatch(/^redis:session: connection /);
      await redisServer.start();
      await waitFor(() => readiness.ready, 15_000, { what: 'redis:session to pass again' });
    } finally {
      await watcher.stop();
      client.disconnect();
    }
  });
});
