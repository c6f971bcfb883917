import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { Etcd3 } from 'etcd3';
import { createLogger } from '@tiertalk/log';
import { InstanceInfo, Registration, Registry, RegistryError, ServiceWatch } from './index';

// Real etcd (see the brief: /usr/bin/etcd on 127.0.0.1:2379). Each test file uses its own prefix.
const ENDPOINTS = [process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379'];
const PREFIX = `/tt-test-registry-${randomBytes(4).toString('hex')}`;

const logLines: string[] = [];
const logger = createLogger({
  service: 'registry-test',
  instanceId: 't',
  level: 'debug',
  destination: new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString('utf8'));
      cb();
    },
  }),
});

function info(id: string, extra: Partial<InstanceInfo> = {}): InstanceInfo {
  return { id, service: 'db-proxy', addr: `127.0.0.1:${10000 + id.length}`, load: 0, meta: {}, ...extra };
}

/** Resolves with the first 'added'/'updated' instance matching pred, or rejects after ms. */
function waitFor(w: ServiceWatch, event: 'added' | 'updated' | 'reregistered', pred: (i: InstanceInfo) => boolean, ms: number): Promise<InstanceInfo> {
  return new Promise((resolve, reject) => {
    const onEvent = (i: InstanceInfo): void => {
      if (!pred(i)) return;
      clearTimeout(timer);
      w.off(event, onEvent);
      resolve(i);
    };
    const timer = setTimeout(() => {
      w.off(event, onEvent);
      reject(new Error(`no matching '${event}' within ${ms} ms`));
    }, ms);
    w.on(event, onEvent);
  });
}

/** Resolves when `id` is removed, or rejects after ms. */
function waitRemoved(w: ServiceWatch, id: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onRemoved = (removed: string): void => {
      if (removed !== id) return;
      clearTimeout(timer);
      w.off('removed', onRemoved);
      resolve();
    };
    const timer = setTimeout(() => {
      w.off('removed', onRemoved);
      reject(new Error(`'${id}' not removed within ${ms} ms`));
    }, ms);
    w.on('removed', onRemoved);
  });
}

/** Polls until check() holds; rejects after ms so a broken registry fails the test. */
async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Registry (real etcd)', () => {
  let raw: Etcd3;
  let a: Registry;
  let b: Registry;
  const opened: Registry[] = [];

  async function connect(leaseTtlSec: number): Promise<Registry> {
    const r = await Registry.connect({ endpoints: ENDPOINTS, prefix: PREFIX, leaseTtlSec, logger });
    opened.push(r);
    return r;
  }

  beforeAll(async () => {
    raw = new Etcd3({ hosts: ENDPOINTS });
    a = await connect(5);
    b = await connect(5);
  });

  afterAll(async () => {
    await Promise.all(opened.map((r) => r.close()));
    await raw.delete().prefix(`${PREFIX}/`).exec();
    raw.close();
  });

  it('rejects a bad prefix and an unreachable etcd with stable codes', async () => {
    await expect(Registry.connect({ endpoints: ENDPOINTS, prefix: 'x/', leaseTtlSec: 5, logger })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const err: unknown = await Registry.connect({ endpoints: ['http://127.0.0.1:1'], prefix: PREFIX, leaseTtlSec: 5, logger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ code: 'ETCD_UNAVAILABLE' });
  });

  it('a registration is visible in another Registry, and list() is ordered by id', async () => {
    const w = await b.watch('db-proxy');
    expect(w.list()).toEqual([]);
    const added = waitFor(w, 'added', (i) => i.id === 'dbp-b', 3000);
    const r2 = await a.register(info('dbp-b', { meta: { zone: 'x', weight: 2 } }));
    const r1 = await a.register(info('dbp-a'));
    const got = await added;
    expect(got).toEqual(info('dbp-b', { meta: { zone: 'x', weight: 2 } }));
    await eventually(() => w.get('dbp-a') !== undefined, 3000, 'dbp-a in the watch');
    expect(w.list().map((i) => i.id)).toEqual(['dbp-a', 'dbp-b']);
    expect(w.get('dbp-b')?.addr).toBe(info('dbp-b').addr);

    // a later watch sees both in its initial load
    const w2 = await b.watch('db-proxy');
    await w2.ready;
    expect(w2.list().map((i) => i.id)).toEqual(['dbp-a', 'dbp-b']);
    // another service's watch does not
    const other = await b.watch('db-proxy-x');
    expect(other.size).toBe(0);

    await Promise.all([r1.deregister(), r2.deregister(), w.close(), w2.close(), other.close()]);
  });

  it('update → updated; rapid updates coalesce and the latest value wins', async () => {
    const w = await b.watch('db-proxy');
    const reg = await a.register(info('dbp-u'));
    await eventually(() => w.get('dbp-u') !== undefined, 3000, 'dbp-u in the watch');
    expect(w.get('dbp-u')).toBeDefined();

    const updated = waitFor(w, 'updated', (i) => i.id === 'dbp-u' && i.load === 7, 3000);
    await reg.update({ load: 7, meta: { curConn: 3 } });
    const u = await updated;
    expect(u.meta).toEqual({ curConn: 3 });

    let updates = 0;
    w.on('updated', () => (updates += 1));
    const done: Promise<void>[] = [];
    for (let i = 1; i <= 50; i += 1) done.push(reg.update({ load: 100 + i }));
    await Promise.all(done);
    const stored = await raw.get(reg.key).string();
    expect(JSON.parse(stored ?? 'null')).toMatchObject({ id: 'dbp-u', load: 150, meta: { curConn: 3 } });
    await eventually(() => w.get('dbp-u')?.load === 150, 3000, 'load 150');
    expect(w.get('dbp-u')?.load).toBe(150);
    // 50 calls, far fewer puts: at most one in flight
    expect(updates).toBeLessThan(10);

    await reg.deregister();
    await w.close();
  });

  it('deregister removes the key at once (not after the TTL) and is idempotent', async () => {
    const w = await b.watch('db-proxy');
    const reg = await a.register(info('dbp-d'));
    await eventually(() => w.get('dbp-d') !== undefined, 3000, 'dbp-d in the watch');
    const started = Date.now();
    const removed = waitRemoved(w, 'dbp-d', 3000);
    await Promise.all([reg.deregister(), reg.deregister()]);
    await removed;
    expect(Date.now() - started).toBeLessThan(1500); // TTL is 5 s
    expect(await raw.get(reg.key).string()).toBeNull();
    expect(w.get('dbp-d')).toBeUndefined();
    await reg.update({ load: 1 }); // no-op after deregister, must not resurrect the key
    expect(await raw.get(reg.key).string()).toBeNull();
    await w.close();
  });

  it('an instance that stops keep-alive disappears after its TTL and the removal grace', async () => {
    const short = await connect(2);
    const w = await b.watch('db-proxy');
    const reg = await short.register(info('dbp-dead'));
    await eventually(() => w.get('dbp-dead') !== undefined, 3000, 'dbp-dead in the watch');
    // Simulate a crashed process: close without revoking.
    const started = Date.now();
    await short.close();
    expect(reg.closed).toBe(true);
    expect(await raw.get(reg.key).string()).not.toBeNull();
    await waitRemoved(w, 'dbp-dead', 9000);
    const elapsed = Date.now() - started;
    // TTL 2 s, then the default 3 s grace in which a re-put would have kept it.
    expect(elapsed).toBeGreaterThan(3500);
    expect(elapsed).toBeLessThan(8000);
    await w.close();
  });

  it('Registration.abandon() leaves the key to expire', async () => {
    const short = await connect(2);
    const reg: Registration = await short.register(info('dbp-ab'));
    await reg.abandon();
    expect(await raw.get(reg.key).string()).not.toBeNull();
    await new Promise((r) => setTimeout(r, 3500));
    expect(await raw.get(reg.key).string()).toBeNull();
  });

  it('ignores malformed values, both at load and from the watch', async () => {
    const base = `${PREFIX}/services/db-proxy/`;
    await raw.put(`${base}bad-json`).value('{not json');
    const w = await b.watch('db-proxy');
    expect(w.get('bad-json')).toBeUndefined();
    const seen: string[] = [];
    w.on('added', (i) => seen.push(i.id));
    logLines.length = 0;
    await raw.put(`${base}bad-shape`).value(JSON.stringify({ id: 'bad-shape', service: 'db-proxy', addr: 'h:1', load: 'high', meta: {} }));
    await raw.put(`${base}bad-id`).value(JSON.stringify(info('other-id')));
    await raw.put(`${base}bad-svc`).value(JSON.stringify(info('bad-svc', { service: 'route' })));
    await raw.put(`${base}null`).value('null');
    const ok = waitFor(w, 'added', (i) => i.id === 'dbp-ok', 3000);
    const reg = await a.register(info('dbp-ok'));
    await ok;
    expect(seen).toEqual(['dbp-ok']);
    expect(w.list().map((i) => i.id)).toEqual(['dbp-ok']);
    expect(logLines.join('').match(/ignoring malformed instance value/g)?.length).toBeGreaterThanOrEqual(4);

    // a valid instance whose value turns bad is dropped
    const removed = waitRemoved(w, 'dbp-ok', 3000);
    await raw.put(reg.key).value('garbage');
    await removed;
    await reg.deregister();
    await raw.delete().prefix(base).exec();
    await w.close();
  });

  it('a lease lost behind its back is re-put, and watchers never see the instance gone (removal grace)', async () => {
    const short = await connect(2);
    const w = await b.watch('db-proxy');
    const reg = await short.register(info('dbp-lost', { load: 1 }));
    await eventually(() => w.get('dbp-lost') !== undefined, 3000, 'dbp-lost in the watch');
    const kv = await raw.get(reg.key).exec();
    const leaseId = kv.kvs[0]?.lease;
    if (!leaseId) throw new Error('registered key has no lease');

    const removedIds: string[] = [];
    w.on('removed', (id) => removedIds.push(id));
    const back = waitFor(w, 'reregistered', (i) => i.id === 'dbp-lost', 8000);
    // What an etcd outage does to every lease at once.
    await raw.leaseClient.leaseRevoke({ ID: leaseId });
    await back;
    await reg.update({ load: 2 });
    const now = await raw.get(reg.key).exec();
    expect(now.kvs[0]?.lease).not.toBe(leaseId);
    await eventually(() => w.get('dbp-lost')?.load === 2, 3000, 'load 2');
    // The update above arrived after the re-put: had a removal been pending or emitted, we would see it by now.
    expect(removedIds).toEqual([]);
    await reg.deregister();
    await w.close();
  });

  it('with no grace (removalGraceMs 0) a lost lease is seen as removed and added again', async () => {
    const short = await Registry.connect({ endpoints: ENDPOINTS, prefix: PREFIX, leaseTtlSec: 2, logger, removalGraceMs: 0 });
    opened.push(short);
    const watcher = await Registry.connect({ endpoints: ENDPOINTS, prefix: PREFIX, leaseTtlSec: 5, logger, removalGraceMs: 0 });
    opened.push(watcher);
    const w = await watcher.watch('db-proxy');
    const reg = await short.register(info('dbp-nograce'));
    await eventually(() => w.get('dbp-nograce') !== undefined, 3000, 'dbp-nograce in the watch');
    const leaseId = (await raw.get(reg.key).exec()).kvs[0]?.lease;
    if (!leaseId) throw new Error('registered key has no lease');
    const removed = waitRemoved(w, 'dbp-nograce', 3000);
    const back = waitFor(w, 'added', (i) => i.id === 'dbp-nograce', 8000);
    await raw.leaseClient.leaseRevoke({ ID: leaseId });
    await removed;
    await back;
    await reg.deregister();
    await w.close();
  });

  it('reregistered: the same id and info put again under a new lease (a process restarted before its lease ended)', async () => {
    const w = await b.watch('db-proxy');
    const seen: string[] = [];
    w.on('reregistered', (i) => seen.push(i.id));
    w.on('updated', (i) => seen.push(`updated:${i.id}`));
    const first = await a.register(info('dbp-re'));
    await eventually(() => w.get('dbp-re') !== undefined, 3000, 'dbp-re in the watch');
    // A load update keeps the lease: an update, not a re-registration.
    await first.update({ load: 3 });
    await eventually(() => w.get('dbp-re')?.load === 3, 3000, 'load 3');
    await first.update({ load: 0 });
    await eventually(() => w.get('dbp-re')?.load === 0, 3000, 'load 0');
    const again = waitFor(w, 'reregistered', (i) => i.id === 'dbp-re', 3000);
    // The "restarted process": another registry (its own lease) puts the identical value.
    await first.abandon();
    const second = await b.register(info('dbp-re'));
    expect(await again).toEqual(info('dbp-re'));
    expect(seen).toEqual(['updated:dbp-re', 'updated:dbp-re', 'dbp-re']);
    await second.deregister();
    await w.close();
  });

  it('close() of a registry is final', async () => {
    const r = await connect(5);
    await r.close();
    await expect(r.register(info('x'))).rejects.toMatchObject({ code: 'REGISTRY_CLOSED' });
    await expect(r.watch('db-proxy')).rejects.toMatchObject({ code: 'REGISTRY_CLOSED' });
  });

  it('emits change after each batch', async () => {
    const w = await b.watch('db-proxy');
    const change = once(w, 'change');
    const reg = await a.register(info('dbp-c'));
    await change;
    expect(w.get('dbp-c')).toBeDefined();
    await reg.deregister();
    await w.close();
  });
});
