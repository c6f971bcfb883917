// InstancePool against the real etcd (unique prefix): failure marks, consistent-hash
// picks, and fresh clients for instances seen back.
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '@tiertalk/log';
import { Registry } from '@tiertalk/registry';
import type { InstanceInfo, Registration, ServiceWatch } from '@tiertalk/registry';
import { InstancePool, bindServer, createClient, createServer, rendezvousPick, unaryCall, insecureLoopback } from './index';

const ENDPOINTS = [process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379'];
const PREFIX = `/tt-test-pool-${randomBytes(4).toString('hex')}`;
const logger = createLogger({ service: 'pool-test', instanceId: 't', level: 'silent' });

function info(id: string, port: number, service = 'kv'): InstanceInfo {
  return { id, service, addr: `127.0.0.1:${port}`, load: 0, meta: {} };
}

const KEYS = Array.from({ length: 600 }, (_, i) => `u:${i}:${i * 7 + 3}`);

function owners(pool: InstancePool): Map<string, string | undefined> {
  return new Map(KEYS.map((k) => [k, pool.pickByKey(k)?.id]));
}

async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('rendezvousPick', () => {
  it('spreads keys evenly, and only the keys of a removed id move', () => {
    const ids = ['a', 'b', 'c'];
    const before = new Map(KEYS.map((k) => [k, rendezvousPick(k, ids)]));
    for (const id of ids) {
      const share = [...before.values()].filter((o) => o === id).length / KEYS.length;
      expect(share).toBeGreaterThan(0.25);
      expect(share).toBeLessThan(0.42);
    }
    const after = new Map(KEYS.map((k) => [k, rendezvousPick(k, ['c', 'a'])]));
    for (const k of KEYS) {
      if (before.get(k) === 'b') expect(['a', 'c']).toContain(after.get(k));
      else expect(after.get(k)).toBe(before.get(k));
    }
    expect(rendezvousPick('k', [])).toBeUndefined();
  });
});

describe('InstancePool over real etcd', () => {
  let registry: Registry;
  let other: Registry;
  let watch: ServiceWatch;
  const regs: Registration[] = [];

  beforeAll(async () => {
    registry = await Registry.connect({ endpoints: ENDPOINTS, prefix: PREFIX, leaseTtlSec: 5, logger });
    other = await Registry.connect({ endpoints: ENDPOINTS, prefix: PREFIX, leaseTtlSec: 5, logger });
    for (const [id, port] of [['kv-1', 1], ['kv-2', 2], ['kv-3', 3]] as const) regs.push(await registry.register(info(id, port)));
    watch = await other.watch('kv');
  });

  afterAll(async () => {
    await Promise.all(regs.map((r) => r.deregister()));
    await watch.close();
    await Promise.all([registry.close(), other.close()]);
  });

  it('pickByKey: every pool maps a key to the same instance; a failed one\'s keys move at once and come back after the cooldown', async () => {
    const a = new InstancePool(watch, { security: insecureLoopback(), logger, failCooldownMs: 150 });
    const b = new InstancePool(watch, { security: insecureLoopback(), logger });
    try {
      const start = owners(a);
      expect(owners(b)).toEqual(start);
      expect(new Set(start.values())).toEqual(new Set(['kv-1', 'kv-2', 'kv-3']));

      expect(a.nextRecoveryInMs()).toBeUndefined();
      a.markFailed('kv-2');
      expect(a.isFailed('kv-2')).toBe(true);
      expect(a.nextRecoveryInMs()).toBeGreaterThan(100);
      expect(a.nextRecoveryInMs()).toBeLessThanOrEqual(150);
      const moved = owners(a);
      for (const k of KEYS) {
        if (start.get(k) === 'kv-2') expect(['kv-1', 'kv-3']).toContain(moved.get(k));
        else expect(moved.get(k)).toBe(start.get(k));
      }
      await eventually(() => !a.isFailed('kv-2'), 2000, 'cooldown end');
      expect(owners(a)).toEqual(start);

      // exclude and draining leave an instance out the same way; with none usable, nothing is picked
      const k2 = KEYS.find((k) => start.get(k) === 'kv-2') ?? '';
      expect(a.pickByKey(k2, new Set(['kv-2']))?.id).not.toBe('kv-2');
      a.markDraining('kv-1');
      a.markFailed('kv-3');
      expect(a.pickByKey(KEYS[0], new Set(['kv-2']))).toBeUndefined();
      expect(a.pickByKey(KEYS[0])?.id).toBe('kv-2');
    } finally {
      a.close();
      b.close();
    }
  });

  it('an instance removed from etcd and added again gets a fresh client and its keys back', async () => {
    const made: string[] = [];
    const pool = new InstancePool(watch, { security: insecureLoopback(),
      logger,
      failCooldownMs: 60_000,
      clientFactory: (addr) => {
        made.push(addr);
        return createClient(addr, insecureLoopback(), 'test');
      },
    });
    try {
      const start = owners(pool);
      const before = pool.get('kv-3')?.client;
      pool.markFailed('kv-3');
      const removed = once(pool, 'removed');
      await regs[2].deregister();
      expect(await removed).toEqual(['kv-3']);
      const added = once(pool, 'added');
      regs[2] = await registry.register(info('kv-3', 3));
      expect((await added)[0]).toMatchObject({ id: 'kv-3' });
      // Back in etcd: not cooling down any more (the cooldown was 60 s), a new client.
      expect(pool.isFailed('kv-3')).toBe(false);
      expect(pool.get('kv-3')?.client).not.toBe(before);
      expect(made.filter((a) => a === '127.0.0.1:3')).toHaveLength(2);
      expect(owners(pool)).toEqual(start);
    } finally {
      pool.close();
    }
  });

  it('an instance moved to a new address (restarted on another port) gets a fresh client and is tried at once', async () => {
    const first = await registry.register(info('mv-1', 5, 'kv3'));
    const w = await other.watch('kv3');
    const pool = new InstancePool(w, { security: insecureLoopback(), logger, failCooldownMs: 60_000 });
    try {
      const before = pool.get('mv-1')?.client;
      pool.markFailed('mv-1');
      expect(pool.pickByKey('k')).toBeUndefined();
      const added = once(pool, 'added');
      await first.abandon();
      const moved = await other.register(info('mv-1', 6, 'kv3'));
      expect((await added)[0]).toMatchObject({ id: 'mv-1', addr: '127.0.0.1:6' });
      expect(pool.get('mv-1')?.client).not.toBe(before);
      expect(pool.pickByKey('k')?.id).toBe('mv-1');
      await moved.deregister();
    } finally {
      pool.close();
      await w.close();
    }
  });

  it('a process registered again under the same id and address (before its old lease ended) gets a fresh client, unless connected', async () => {
    const server = createServer({ security: insecureLoopback() });
    const Ping: grpc.MethodDefinition<Buffer, Buffer> = {
      path: '/t.Ping/Ping',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b) => b,
      requestDeserialize: (b) => b,
      responseSerialize: (b) => b,
      responseDeserialize: (b) => b,
    };
    server.addService({ Ping }, { Ping: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
    const port = await bindServer(server, '127.0.0.1', 0);
    const live = await registry.register(info('live-1', port, 'kv2'));
    const dead = await registry.register(info('dead-1', 4, 'kv2'));
    const w = await other.watch('kv2');
    const pool = new InstancePool(w, { security: insecureLoopback(), logger, failCooldownMs: 60_000 });
    try {
      const liveClient = pool.get('live-1')?.client;
      const deadClient = pool.get('dead-1')?.client;
      if (!liveClient || !deadClient) throw new Error('instances missing');
      await unaryCall(liveClient, Ping, Buffer.from('x'), { deadlineMs: 2000 });
      pool.markFailed('dead-1');
      pool.markFailed('live-1');

      const seen: string[] = [];
      pool.on('added', (i) => seen.push(i.id));
      // "Restarted" processes: the old registrations stop (keys stay until their
      // lease ends), new ones put identical values under their own leases.
      await dead.abandon();
      await live.abandon();
      const deadAgain = await other.register(info('dead-1', 4, 'kv2'));
      const liveAgain = await other.register(info('live-1', port, 'kv2'));
      await eventually(() => seen.length === 2, 3000, 'both seen back');
      expect(seen.sort()).toEqual(['dead-1', 'live-1']);
      expect(pool.isFailed('dead-1') || pool.isFailed('live-1')).toBe(false);
      expect(pool.get('dead-1')?.client).not.toBe(deadClient);
      expect(pool.get('live-1')?.client).toBe(liveClient);
      await Promise.all([deadAgain.deregister(), liveAgain.deregister()]);
    } finally {
      pool.close();
      await w.close();
      server.forceShutdown();
    }
  });
});
