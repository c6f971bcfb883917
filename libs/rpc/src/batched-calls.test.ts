// BatchedCalls (client) and BatchedCallService (server) over real gRPC servers
// found through the real etcd: calls of one turn share a batch, each is
// answered by its own reply, and a call in flight on an instance that dies or
// drains is answered by another one; none is left without an answer.
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '@tiertalk/log';
import { Registry } from '@tiertalk/registry';
import type { Registration, ServiceWatch } from '@tiertalk/registry';
import { BatchedCallService, BatchedCalls, CatalogueError, InstancePool, bindServer, createServer, errorCode, errorCodeOf, insecureLoopback, type CallBatchProtocol } from './index';

const ENDPOINTS = [process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379'];
const PREFIX = `/tt-test-batched-${randomBytes(4).toString('hex')}`;
const logger = createLogger({ service: 'batched-test', instanceId: 't', level: 'silent' });

// A test method: JSON batches of { ref, n } answered with { ref, double } or { ref, error }.
interface Batch {
  items: Array<{ ref: number; n: number }>;
}
interface Reply {
  ref: number;
  double?: number;
  error?: string;
}
interface ReplyBatch {
  items: Reply[];
  stop?: boolean;
}
const json = <T>() => ({ serialize: (v: T) => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer) => JSON.parse(b.toString()) as T });
const method: grpc.MethodDefinition<Batch, ReplyBatch> = {
  path: '/test.Doubler/Double',
  requestStream: true,
  responseStream: true,
  requestSerialize: json<Batch>().serialize,
  requestDeserialize: json<Batch>().deserialize,
  responseSerialize: json<ReplyBatch>().serialize,
  responseDeserialize: json<ReplyBatch>().deserialize,
};
const protocol: CallBatchProtocol<number, number, Batch, ReplyBatch, Reply> = {
  method,
  batchOf: (items) => ({ items: items.map((i) => ({ ref: i.ref, n: i.req })) }),
  repliesOf: (b) => b.items,
  refOf: (r) => r.ref,
  isStop: (b) => b.stop === true,
  outcomeOf: (r) => (r.error !== undefined ? { error: r.error } : { rsp: r.double ?? NaN }),
};

/** One instance of the doubler: counts batches and items, can hold its answers. */
class Doubler {
  batches = 0;
  items = 0;
  /** While set, answers wait until release(). */
  private held: Array<() => void> | undefined;
  readonly service = new BatchedCallService<Batch, ReplyBatch, { ref: number; n: number }, Reply>(
    {
      itemsOf: (b) => {
        this.batches += 1;
        return b.items;
      },
      run: async (item) => {
        this.items += 1;
        if (this.held) await new Promise<void>((resolve) => this.held?.push(resolve));
        if (item.n === -2) throw new CatalogueError('db_busy', 'too busy');
        if (item.n < 0) throw new Error('negative');
        return { ref: item.ref, double: item.n * 2 };
      },
      // Catalogue errors travel as their code, as the services' streams send them.
      failed: (item, err) => ({ ref: item.ref, error: err instanceof CatalogueError ? err.code : err instanceof Error ? err.message : String(err) }),
      batchOf: (items, stop) => ({ items, ...(stop ? { stop: true } : {}) }),
    },
    { maxInFlight: 10_000, logger },
  );
  server!: grpc.Server;
  registration!: Registration;

  constructor(readonly id: string) {}

  async start(registry: Registry): Promise<void> {
    this.server = createServer({ security: insecureLoopback() });
    this.server.addService({ Double: method }, { Double: this.service.handle });
    const port = await bindServer(this.server, '127.0.0.1', 0);
    this.registration = await registry.register({ id: this.id, service: 'doubler', addr: `127.0.0.1:${port}`, load: 0, meta: {} });
  }

  hold(): void {
    this.held = [];
  }

  release(): void {
    const waiting = this.held ?? [];
    this.held = undefined;
    for (const r of waiting) r();
  }

  async stop(): Promise<void> {
    this.release();
    this.server.forceShutdown();
    await this.registration.deregister().catch(() => undefined);
  }
}

async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('BatchedCalls over real gRPC and etcd', () => {
  let registry: Registry;
  let watch: ServiceWatch;
  let a: Doubler;
  let b: Doubler;
  let pool: InstancePool;
  let calls: BatchedCalls<number, number, Batch, ReplyBatch, Reply>;

  beforeEach(async () => {
    registry = await Registry.connect({ endpoints: ENDPOINTS, prefix: `${PREFIX}-${randomBytes(3).toString('hex')}`, leaseTtlSec: 5, logger });
    a = new Doubler('doubler-a');
    b = new Doubler('doubler-b');
    await a.start(registry);
    await b.start(registry);
    watch = await registry.watch('doubler');
    await eventually(() => watch.list().length === 2, 5000, 'both doublers in etcd');
    pool = new InstancePool(watch, { security: insecureLoopback(), logger });
    calls = new BatchedCalls(pool, protocol, { deadlineMs: 5000, batchMax: 256, logger });
  });

  afterEach(async () => {
    calls.close();
    pool.close();
    await Promise.all([a.stop(), b.stop()]);
    await watch.close();
    await registry.close();
  });

  it('answers each of 1,000 calls made at once with its own reply, in a few batches', async () => {
    const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => calls.call(i)));
    expect(answers).toEqual(Array.from({ length: 1000 }, (_, i) => i * 2));
    expect(a.items + b.items).toBe(1000);
    // 256 per batch: 4 batches, however they were spread.
    expect(a.batches + b.batches).toBe(4);
    expect(calls.inFlight).toBe(0);
  });

  it('spreads successive turns over the instances', async () => {
    for (let i = 0; i < 10; i++) await calls.call(i);
    expect(a.items).toBeGreaterThan(0);
    expect(b.items).toBeGreaterThan(0);
  });

  it("answers a call the server could not run with that server's error, without retrying it elsewhere", async () => {
    await expect(calls.call(-1)).rejects.toThrow(/negative/);
    expect(a.items + b.items).toBe(1);
  });

  it('answers a per-item catalogue code with that code and its gRPC status', async () => {
    const err = await calls.call(-2).catch((e: unknown) => e);
    expect(errorCodeOf(err)).toBe('db_busy');
    expect(errorCode(err)).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it('an instance killed with calls in flight: every call is answered by the other one', async () => {
    a.hold();
    b.hold();
    const pending = Array.from({ length: 300 }, (_, i) => calls.call(i));
    await eventually(() => a.items + b.items === 300, 5000, 'every call on a server');
    // The instance holding calls dies; the survivor answers them (and its own).
    const [victim, survivor] = a.items > 0 ? [a, b] : [b, a];
    survivor.release();
    victim.server.forceShutdown();
    expect(await Promise.all(pending)).toEqual(Array.from({ length: 300 }, (_, i) => i * 2));
    expect(survivor.items).toBe(300);
  });

  it('an instance that drains (shutdown) answers what it has; new calls go to the other one', async () => {
    a.hold();
    b.hold();
    const first = Array.from({ length: 50 }, (_, i) => calls.call(i));
    await eventually(() => a.items + b.items === 50, 5000, 'the first calls on a server');
    const draining = a.items > 0 ? a : b;
    const other = draining === a ? b : a;
    other.release();
    const drained = draining.service.drain(5000);
    await eventually(() => pool.pick(new Set([other.id])) === undefined, 5000, 'the draining instance left out of picks');
    const before = draining.items;
    const later = await Promise.all(Array.from({ length: 50 }, (_, i) => calls.call(100 + i)));
    expect(later).toEqual(Array.from({ length: 50 }, (_, i) => (100 + i) * 2));
    expect(draining.items).toBe(before);
    draining.release();
    expect(await Promise.all(first)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
    await drained;
  });

  it('a call nobody answers is refused at its deadline', async () => {
    calls.close();
    calls = new BatchedCalls(pool, protocol, { deadlineMs: 300, batchMax: 256, logger });
    a.hold();
    b.hold();
    const err = await calls.call(1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(errorCode(err)).toBe(4); // DEADLINE_EXCEEDED
  });

  it('with every instance gone, calls are refused, not left waiting', async () => {
    a.hold();
    b.hold();
    const pending = Array.from({ length: 20 }, (_, i) => calls.call(i).then(() => 'ok', (e: unknown) => errorCode(e)));
    await eventually(() => a.items + b.items === 20, 5000, 'the calls on a server');
    a.server.forceShutdown();
    b.server.forceShutdown();
    expect(new Set(await Promise.all(pending))).toEqual(new Set([14])); // UNAVAILABLE
  });

  it('refuses calls after close', async () => {
    calls.close();
    await expect(calls.call(1)).rejects.toThrow(/stopping/);
  });
});
