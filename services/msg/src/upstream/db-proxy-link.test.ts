// DbProxyLink against fake db-proxy servers over real gRPC, registered in the
// real etcd (unique prefix): routing by conversation, retries across instances,
// storage retries, refusals and the store deadline.
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { DbProxyService, IM, tiertalk } from '@tiertalk/proto';
import type { MsgStoreBatch, MsgStoredBatch } from '@tiertalk/proto';
import { createLogger } from '@tiertalk/log';
import { Registry } from '@tiertalk/registry';
import type { Registration, ServiceWatch } from '@tiertalk/registry';
import { InstancePool, bindServer, createServer, insecureLoopback } from '@tiertalk/rpc';
import { DbProxyLink } from './db-proxy-link';
import { conversationKey, storeIdemKey } from '@tiertalk/message-store';
import type { StoreOutcome } from '../gateway-context';

const ETCD = process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379';
const log = createLogger({ service: 'link-test', instanceId: 't', level: process.env.TT_TEST_LOG_LEVEL ?? 'silent' });
const { STORE_OK, STORE_FAILED, STORE_REJECTED } = tiertalk.StoreResult;

/** What every fake instance committed, shared like MySQL, deduplicated on (sender, idem_key) like db-proxy. */
class FakeStorage {
  readonly rows: Array<{ instance: string; from: number; to: number; text: string; idemKey: string; msgId: number }> = [];
  private readonly byKey = new Map<string, number>();
  private nextId = 0;

  store(instance: string, item: tiertalk.MsgStoreItem.$Properties): number {
    const m = item.msg;
    const key = `${m.fromUserId}/${item.idemKey}`;
    const known = this.byKey.get(key);
    if (known !== undefined) return known;
    const msgId = (this.nextId += 1);
    this.byKey.set(key, msgId);
    this.rows.push({ instance, from: m.fromUserId, to: m.toSessionId, text: Buffer.from(m.msgData).toString(), idemKey: item.idemKey ?? '', msgId });
    return msgId;
  }

  texts(): string[] {
    return this.rows.map((r) => r.text);
  }
}

type Mode = 'ok' | 'hang' | 'fail' | 'reject';

class FakeDbProxy {
  /** Every item received, in order (retries included). */
  readonly received: tiertalk.MsgStoreItem.$Properties[] = [];
  readonly streams = new Set<grpc.ServerDuplexStream<MsgStoreBatch, MsgStoredBatch>>();
  mode: Mode = 'ok';
  /** While set, new streams are not read (HTTP/2 flow control holds the writer) until resumeReading(). */
  private readingPaused: Array<() => void> | undefined;
  /** STORE_FAILED for this many items before storing again. */
  failNext = 0;
  private server: grpc.Server | undefined;
  registration: Registration | undefined;
  port = 0;

  constructor(
    readonly id: string,
    private readonly storage: FakeStorage,
  ) {}

  async start(registry: Registry, port = 0): Promise<void> {
    const server = createServer({ security: insecureLoopback() });
    server.addService(DbProxyService, {
      StoreMessages: (call: grpc.ServerDuplexStream<MsgStoreBatch, MsgStoredBatch>) => {
        this.streams.add(call);
        if (this.readingPaused) this.readingPaused.push(() => this.read(call));
        else this.read(call);
      },
    });
    this.server = server;
    this.port = await bindServer(server, '127.0.0.1', port);
    this.registration = await registry.register({ id: this.id, service: 'db-proxy', addr: `127.0.0.1:${this.port}`, load: 0, meta: {} });
  }

  pauseReading(): void {
    this.readingPaused = [];
  }

  resumeReading(): void {
    const waiting = this.readingPaused ?? [];
    this.readingPaused = undefined;
    for (const read of waiting) read();
  }

  private read(call: grpc.ServerDuplexStream<MsgStoreBatch, MsgStoredBatch>): void {
    call.on('data', (batch: MsgStoreBatch) => {
      this.received.push(...batch.items);
      if (this.mode === 'hang') return;
      const items = batch.items.map((item) => this.answer(item));
      if (!call.destroyed) call.write(tiertalk.MsgStoredBatch.create({ items }));
    });
    call.on('end', () => call.end());
    call.on('error', () => this.streams.delete(call));
    call.on('close', () => this.streams.delete(call));
  }

  private answer(item: tiertalk.MsgStoreItem.$Properties): tiertalk.MsgStoredItem.$Properties {
    if (this.mode === 'reject') return { ref: item.ref, msgId: 0, result: STORE_REJECTED, reason: 'not a member' };
    if (this.mode === 'fail' || this.failNext > 0) {
      this.failNext = Math.max(0, this.failNext - 1);
      return { ref: item.ref, msgId: 0, result: STORE_FAILED, reason: 'mysql down' };
    }
    return { ref: item.ref, msgId: this.storage.store(this.id, item), result: STORE_OK };
  }

  /** Answers every stream's pending work with `stop` (db-proxy's SIGTERM). */
  sendStop(): void {
    for (const s of this.streams) s.write(tiertalk.MsgStoredBatch.create({ items: [], stop: { result: 0 } }));
  }

  /** The process dies: connections cut, its etcd key stays until deregistered (or its lease ends). */
  crash(): void {
    this.server?.forceShutdown();
  }

  async kill(): Promise<void> {
    this.crash();
    await this.registration?.deregister();
  }
}

function msg(from: number, to: number, text: string, msgType = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT): IM.Message.IMMsgData.$Properties {
  return { fromUserId: from, toSessionId: to, msgId: 0, createTime: 1_700_000_000, msgType, msgData: Buffer.from(text) };
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('DbProxyLink over real gRPC and etcd', () => {
  let registry: Registry;
  let watch: ServiceWatch;
  let pool: InstancePool;
  let link: DbProxyLink;
  let storage: FakeStorage;
  const fakes: FakeDbProxy[] = [];
  let seq = 0;

  async function fake(id: string, port = 0): Promise<FakeDbProxy> {
    const f = new FakeDbProxy(id, storage);
    fakes.push(f);
    await f.start(registry, port);
    await until(() => pool.get(id) !== undefined, 3000, `${id} in the pool`);
    return f;
  }

  function send(from: number, to: number, text: string, msgType?: IM.BaseDefine.MsgType): Promise<StoreOutcome> {
    const m = msg(from, to, text, msgType);
    seq += 1;
    return link.store(m, storeIdemKey(m, seq, m.createTime));
  }

  beforeEach(async () => {
    const prefix = `/tt-test-link-${randomBytes(4).toString('hex')}`;
    registry = await Registry.connect({ endpoints: [ETCD], prefix, leaseTtlSec: 2, logger: log });
    watch = await registry.watch('db-proxy');
    pool = new InstancePool(watch, { security: insecureLoopback(), logger: log });
    storage = new FakeStorage();
    link = new DbProxyLink(pool, { deadlineMs: 1000, storeDeadlineMs: 4000, batchMax: 64, logger: log, stallMs: 600 });
  });

  afterEach(async () => {
    link.close();
    pool.close();
    for (const f of fakes.splice(0)) await f.kill();
    await watch.close();
    await registry.close();
  });

  it('routes each conversation to one instance by hash, using both, with one idem_key per item', async () => {
    const [a, b] = [await fake('db-a'), await fake('db-b')];
    const sends: Array<Promise<StoreOutcome>> = [];
    for (let u = 0; u < 40; u += 1) {
      sends.push(send(100 + u, 500 + u, `one ${u}`), send(500 + u, 100 + u, `two ${u}`));
      sends.push(send(100 + u, 9000 + (u % 4), `group ${u}`, IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT));
    }
    const outcomes = await Promise.all(sends);
    expect(outcomes.every((o) => o.result === STORE_OK && o.msgId > 0 && o.attempts === 1)).toBe(true);
    expect(a.received.length).toBeGreaterThan(0);
    expect(b.received.length).toBeGreaterThan(0);
    // Both directions of a pair, and every message of a group, on one instance.
    const instanceOf = new Map<string, string>();
    for (const r of storage.rows) {
      const key = conversationKey({ fromUserId: r.from, toSessionId: r.to, msgType: r.text.startsWith('group') ? 17 : 1 });
      expect(instanceOf.get(key) ?? r.instance).toBe(r.instance);
      instanceOf.set(key, r.instance);
      expect(pool.pickByKey(key)?.id).toBe(r.instance);
    }
    expect(new Set([...a.received, ...b.received].map((i) => i.idemKey)).size).toBe(120);
  });

  it('re-sends what a killed instance did not answer to the survivor, same idem_key and createTime, each stored once', async () => {
    const [a, b] = [await fake('db-a'), await fake('db-b')];
    a.mode = 'hang';
    const sends = Array.from({ length: 30 }, (_, i) => send(1, 1000 + i, `m${i}`));
    await until(() => a.received.length + b.received.length === 30, 3000, 'all items written');
    const onA = new Map(a.received.map((i) => [i.idemKey, i]));
    expect(onA.size).toBeGreaterThan(0);
    a.crash();
    const outcomes = await Promise.all(sends);
    expect(outcomes.every((o) => o.result === STORE_OK)).toBe(true);
    await until(() => storage.rows.length >= onA.size, 3000, 'resent items stored');
    const resent = b.received.filter((i) => onA.has(i.idemKey));
    expect(resent).toHaveLength(onA.size);
    for (const r of resent) expect(r.msg.createTime).toBe(onA.get(r.idemKey)?.msg.createTime);
    expect(link.stats.resent).toBe(onA.size);
  });

  it('retries STORE_FAILED with backoff until stored; STORE_REJECTED is final', async () => {
    const a = await fake('db-a');
    a.failNext = 3;
    const stored = await send(1, 2, 'after storage errors');
    expect(stored).toMatchObject({ result: STORE_OK, attempts: 4 });
    expect(a.received.map((i) => i.idemKey).every((k, _, all) => k === all[0])).toBe(true);
    expect(link.stats.storageRetries).toBe(3);

    a.mode = 'reject';
    const before = a.received.length;
    const rejected = await send(1, 2, 'not allowed');
    expect(rejected).toMatchObject({ result: STORE_REJECTED, msgId: 0, reason: 'not a member', attempts: 1 });
    expect(a.received.length).toBe(before + 1);
  });

  it('stops writing to an instance that does not read, and sends the rest in order once it drains', async () => {
    const a = await fake('db-a');
    a.pauseReading();
    // 25 batches of 64 messages of 4 KiB: far beyond the HTTP/2 windows and the stream's buffer.
    const pad = 'x'.repeat(4096);
    const outcomes = Array.from({ length: 1600 }, (_, i) => send(1, 2, `${i}:${pad}`));
    await until(() => link.batchesAwaitingDrain > 0, 3000, 'store batches held for drain');
    a.resumeReading();
    const results = await Promise.all(outcomes);
    expect(results.filter((r) => r.result !== STORE_OK)).toEqual([]);
    expect(results.every((r) => r.attempts === 1)).toBe(true);
    expect(storage.texts().map((t) => Number(t.split(':')[0]))).toEqual(Array.from({ length: 1600 }, (_, i) => i));
    expect(link.batchesAwaitingDrain).toBe(0);
  });

  it('refuses after the store deadline when storage keeps failing, and when no instance is live', async () => {
    const a = await fake('db-a');
    a.mode = 'fail';
    const started = Date.now();
    const o = await send(1, 2, 'never stored');
    expect(o.result).toBe(STORE_FAILED);
    expect(o.reason).toMatch(/deadline exceeded after \d+ attempt\(s\); last: storage failed: mysql down/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3900);
    expect(link.stats.expired).toBe(1);
    await a.kill();
    await until(() => pool.size === 0, 3000, 'empty pool');
    const none = await send(1, 2, 'no instance');
    expect(none).toMatchObject({ result: STORE_FAILED, attempts: 0 });
    expect(storage.rows).toHaveLength(0);
  });

  it('holds items while no instance is live and sends them as soon as one registers', async () => {
    const pending = [send(1, 2, 'x1'), send(3, 4, 'x2')];
    let settled = false;
    void Promise.all(pending).then(() => (settled = true));
    // Proof of waiting: a later marker (an instance appearing) comes first.
    await new Promise((r) => setTimeout(r, 0));
    expect(settled).toBe(false);
    const added = once(pool, 'added');
    const registeredAt = Date.now();
    const a = await fake('db-a');
    await added;
    const outcomes = await Promise.all(pending);
    expect(outcomes.map((o) => o.result)).toEqual([STORE_OK, STORE_OK]);
    expect(a.received).toHaveLength(2);
    expect(Date.now() - registeredAt).toBeLessThan(2000);
  });

  it('a restarted instance (same id and port, new lease, old key still there) is written to again at once', async () => {
    const a = await fake('db-a');
    expect((await send(1, 2, 'before')).result).toBe(STORE_OK);
    const port = a.port;
    await a.registration?.abandon(); // SIGKILL: no deregister, the key stays until its lease ends
    a.crash();
    const during = send(1, 2, 'during the restart');
    // The link keeps failing against the dead port; let the channel back off a few times.
    await until(() => link.stats.streamFailures >= 2, 3000, 'stream failures');
    const again = new FakeDbProxy('db-a', storage);
    fakes.push(again);
    const back = once(pool, 'added');
    await again.start(registry, port);
    const backAt = Date.now();
    await back;
    const o = await during;
    expect(o.result).toBe(STORE_OK);
    expect(Date.now() - backAt).toBeLessThan(1000);
    expect(storage.texts()).toEqual(['before', 'during the restart']);
  });

  it('gives up a stream that is silent while another instance answers, and re-sends its items', async () => {
    const [a, b] = [await fake('db-a'), await fake('db-b')];
    a.mode = 'hang';
    const sends = Array.from({ length: 20 }, (_, i) => send(7, 2000 + i, `s${i}`));
    await until(() => a.received.length > 0 && b.received.length > 0, 3000, 'items on both');
    const outcomes = await Promise.all(sends);
    expect(outcomes.every((o) => o.result === STORE_OK)).toBe(true);
    expect(storage.rows.every((r) => r.instance === 'db-b')).toBe(true);
    expect(storage.rows).toHaveLength(20);
    expect(link.stats.streamFailures).toBeGreaterThanOrEqual(1);
  });

  it('on stop, new items go to the other instance while the stopping one answers what it holds', async () => {
    const [a, b] = [await fake('db-a'), await fake('db-b')];
    // A conversation that hashes to a.
    let to = 1;
    while (pool.pickByKey(conversationKey({ fromUserId: 1, toSessionId: to, msgType: 1 }))?.id !== 'db-a') to += 1;
    expect((await send(1, to, 'first')).result).toBe(STORE_OK);
    a.mode = 'hang';
    const held = send(1, to, 'held by a');
    await until(() => a.received.length === 2, 3000, 'second item on a');
    a.sendStop();
    await until(() => pool.pickByKey(conversationKey({ fromUserId: 1, toSessionId: to, msgType: 1 }))?.id === 'db-b', 3000, 'a draining');
    expect((await send(1, to, 'after stop')).result).toBe(STORE_OK);
    expect(b.received.map((i) => Buffer.from(i.msg.msgData).toString())).toContain('after stop');
    // a finishes its work and closes: answered there, not re-sent.
    a.mode = 'ok';
    const item = a.received[1];
    for (const s of a.streams) {
      s.write(tiertalk.MsgStoredBatch.create({ items: [{ ref: item.ref, msgId: storage.store('db-a', item), result: STORE_OK }] }));
      s.end();
    }
    expect((await held).result).toBe(STORE_OK);
    expect(b.received.map((i) => Buffer.from(i.msg.msgData).toString())).not.toContain('held by a');
  });
});
