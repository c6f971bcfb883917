// ServiceLifecycle against the real etcd (unique prefix) and a real HTTP server.
import http from 'node:http';
import { Writable } from 'node:stream';
import { Readiness } from '@tiertalk/health';
import { createLogger } from '@tiertalk/log';
import { Registry } from '@tiertalk/registry';
import { testConfig, testEtcd, uniquePrefix } from '@tiertalk/testkit';
import { ServiceLifecycle } from './service-lifecycle';
import { gracefulClose, listen } from './net-server';

const PREFIX = uniquePrefix();
let registry: Registry;

function recordingLog(lines: { msg: string; step?: string }[]) {
  return createLogger({
    service: 'lifecycle-test',
    instanceId: 't',
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { msg: string; step?: string });
        cb();
      },
    }),
  });
}

beforeAll(async () => {
  registry = await Registry.connect({ endpoints: [...testConfig.etcdEndpoints], prefix: PREFIX, leaseTtlSec: 5, logger: recordingLog([]) });
});

afterAll(async () => {
  await registry.close();
  const etcd = testEtcd();
  await etcd.delete().prefix(PREFIX);
  etcd.close();
});

async function keyInEtcd(id: string): Promise<boolean> {
  const etcd = testEtcd();
  try {
    return (await etcd.get(`${PREFIX}/services/test/${id}`).string()) !== null;
  } finally {
    etcd.close();
  }
}

function setUp(lines: { msg: string; step?: string }[] = []) {
  const log = recordingLog(lines);
  const readiness = new Readiness('test', log);
  const registered = readiness.add('etcd-registration', { initialReason: 'not registered yet' });
  return { log, readiness, registered, life: new ServiceLifecycle({ log, readiness }) };
}

describe('ServiceLifecycle', () => {
  it('is ready once registered; at stop: not ready, out of etcd, drains in order, then closes the last started first', async () => {
    const lines: { msg: string; step?: string }[] = [];
    const { readiness, registered, life } = setUp(lines);
    const order: string[] = [];
    const server = http.createServer((_req, res) => res.end('ok'));
    const address = await listen(server, 0, '127.0.0.1', 'test server');
    life.closes('http', async () => {
      order.push('close http');
      await gracefulClose(server)(1000);
    });
    life.closes('second part', () => order.push('close second part'));
    life.onStopping(() => order.push(`stopping (ready: ${readiness.report().ready})`));
    life.drains('first', 1000, async () => order.push(`drain first (in etcd: ${await keyInEtcd('t-1')})`));
    life.drains('second', 1000, () => order.push('drain second'));

    expect(readiness.report().ready).toBe(false);
    await life.register(registry, { id: 't-1', service: 'test', addr: `127.0.0.1:${address.port}`, load: 0, meta: {} }, registered);
    expect(readiness.report().ready).toBe(true);
    expect(await keyInEtcd('t-1')).toBe(true);

    expect(await life.stop('test')).toBe(true);
    expect(order).toEqual(['stopping (ready: false)', 'drain first (in etcd: false)', 'drain second', 'close second part', 'close http']);
    expect(server.listening).toBe(false);
    expect(readiness.report()).toMatchObject({ ready: false, draining: true });
    expect(lines.filter((l) => l.msg === 'shutdown step done').map((l) => l.step)).toEqual(['not ready', 'deregister', 'first', 'second', 'second part', 'http']);
    expect(lines.at(-1)?.msg).toBe('stopped');
  });

  it('runs once: a second stop() gets the same promise', async () => {
    const { life } = setUp();
    let closed = 0;
    life.closes('counted', () => closed++);
    const first = life.stop('one');
    expect(life.stop('two')).toBe(first);
    await first;
    expect(closed).toBe(1);
  });

  it('a failing step is logged and the stop goes on, ending unclean', async () => {
    const lines: { msg: string; step?: string }[] = [];
    const { life } = setUp(lines);
    const order: string[] = [];
    life.closes('first started', () => order.push('first started'));
    life.closes('broken', () => Promise.reject(new Error('boom')));
    life.closes('last started', () => order.push('last started'));
    expect(await life.stop('test')).toBe(false);
    expect(order).toEqual(['last started', 'first started']);
    expect(lines.find((l) => l.msg === 'shutdown step failed')?.step).toBe('broken');
  });

  it('a drain hook past its deadline is left behind; the parts still close', async () => {
    const lines: { msg: string; step?: string }[] = [];
    const { life } = setUp(lines);
    let deadlineSeen = 0;
    let closed = false;
    life.drains('never ends', 100, (ms) => {
      deadlineSeen = ms;
      return new Promise(() => undefined);
    });
    life.closes('part', () => (closed = true));
    const t = Date.now();
    expect(await life.stop('test')).toBe(false);
    expect(Date.now() - t).toBeLessThan(2000);
    expect(deadlineSeen).toBe(100);
    expect(closed).toBe(true);
    expect(lines.find((l) => l.msg === 'shutdown step timed out')?.step).toBe('never ends');
  });
});

describe('gracefulClose', () => {
  it('lets a request in flight finish, and cuts one still open after the grace', async () => {
    let release: (() => void) | undefined;
    let slowArrived: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => (slowArrived = resolve));
    const server = http.createServer((req, res) => {
      if (req.url !== '/slow') return; // /stuck is never answered
      release = () => res.end('done');
      slowArrived();
    });
    const { port } = await listen(server, 0, '127.0.0.1', 'test server');
    const get = (path: string) =>
      new Promise<string>((resolve, reject) => {
        http.get(`http://127.0.0.1:${port}${path}`, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
    const slow = get('/slow');
    const stuck = get('/stuck');
    await arrived;
    const close = gracefulClose(server);
    const closing = close(300);
    expect(close(300)).toBe(closing);
    release?.();
    await expect(slow).resolves.toBe('done');
    await expect(stuck).rejects.toThrow();
    await closing;
    expect(server.listening).toBe(false);
  });
});
