import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '@tiertalk/log';
import { InstanceInfo, Registration, Registry, ServiceWatch } from '@tiertalk/registry';
import {
  InstancePool,
  NoInstanceError,
  bindServer,
  callWithFailover,
  createClient,
  createServer,
  errorCode,
  errorDetails,
  openBidi,
  openClientStream,
  rpcError,
  unaryCall,
  insecureLoopback,
} from './index';

// Real gRPC servers in-process and the real etcd (127.0.0.1:2379, see the brief).
const ENDPOINTS = [process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379'];
const PREFIX = `/tt-test-rpc-${randomBytes(4).toString('hex')}`;
const SERVICE = 'echo';
const logger = createLogger({ service: 'rpc-test', instanceId: 't', level: 'silent' });

// ---- a tiny test service with JSON serialization ----
interface EchoReq {
  n: number;
}
interface EchoRes {
  n: number;
  server: string;
}

function isEchoReq(v: unknown): v is EchoReq {
  return typeof v === 'object' && v !== null && 'n' in v && typeof v.n === 'number';
}
function isEchoRes(v: unknown): v is EchoRes {
  return isEchoReq(v) && 'server' in v && typeof v.server === 'string';
}
function jsonCodec<T>(guard: (v: unknown) => v is T): { ser: (v: T) => Buffer; de: (b: Buffer) => T } {
  return {
    ser: (v) => Buffer.from(JSON.stringify(v)),
    de: (b) => {
      const v: unknown = JSON.parse(b.toString('utf8'));
      if (!guard(v)) throw new Error('bad message');
      return v;
    },
  };
}
const reqCodec = jsonCodec(isEchoReq);
const resCodec = jsonCodec(isEchoRes);

function method(name: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<EchoReq, EchoRes> {
  return {
    path: `/tiertalk.test.Echo/${name}`,
    requestStream,
    responseStream,
    requestSerialize: reqCodec.ser,
    requestDeserialize: reqCodec.de,
    responseSerialize: resCodec.ser,
    responseDeserialize: resCodec.de,
  };
}

const Echo = method('Echo', false, false);
const Hang = method('Hang', false, false);
const Reject = method('Reject', false, false);
const Sum = method('Sum', true, false);
const Chat = method('Chat', true, true);
const EchoService: grpc.ServiceDefinition = { Echo, Hang, Reject, Sum, Chat };

interface TestServer {
  name: string;
  server: grpc.Server;
  port: number;
  calls: Map<string, number>;
}

async function startServer(name: string): Promise<TestServer> {
  const calls = new Map<string, number>();
  const count = (m: string): void => {
    calls.set(m, (calls.get(m) ?? 0) + 1);
  };
  const server = createServer({ security: insecureLoopback() });
  const echo: grpc.handleUnaryCall<EchoReq, EchoRes> = (call, cb) => {
    count('Echo');
    cb(null, { n: call.request.n, server: name });
  };
  const hang: grpc.handleUnaryCall<EchoReq, EchoRes> = () => {
    count('Hang'); // never answers
  };
  const reject: grpc.handleUnaryCall<EchoReq, EchoRes> = (_call, cb) => {
    count('Reject');
    cb(rpcError(grpc.status.INVALID_ARGUMENT, 'n must be even', { field: 'n' }));
  };
  const sum: grpc.handleClientStreamingCall<EchoReq, EchoRes> = (call, cb) => {
    let total = 0;
    call.on('data', (r: EchoReq) => (total += r.n));
    call.on('end', () => cb(null, { n: total, server: name }));
  };
  const chat: grpc.handleBidiStreamingCall<EchoReq, EchoRes> = (call) => {
    call.on('data', (r: EchoReq) => call.write({ n: r.n * 2, server: name }));
    call.on('end', () => call.end());
  };
  server.addService(EchoService, { Echo: echo, Hang: hang, Reject: reject, Sum: sum, Chat: chat });
  const port = await bindServer(server, '127.0.0.1', 0);
  return { name, server, port, calls };
}

function infoOf(s: TestServer): InstanceInfo {
  return { id: s.name, service: SERVICE, addr: `127.0.0.1:${s.port}`, load: 0, meta: {} };
}

async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('rpc over real gRPC servers and etcd', () => {
  let registrar: Registry;
  let discoverer: Registry;
  let watch: ServiceWatch;
  let pool: InstancePool;
  let s1: TestServer;
  let s2: TestServer;
  let r1: Registration;
  let r2: Registration;

  beforeAll(async () => {
    registrar = await Registry.connect({ endpoints: ENDPOINTS, prefix: PREFIX, leaseTtlSec: 5, logger });
    discoverer = await Registry.connect({ endpoints: ENDPOINTS, prefix: PREFIX, leaseTtlSec: 5, logger });
    [s1, s2] = await Promise.all([startServer('echo-1'), startServer('echo-2')]);
    r1 = await registrar.register(infoOf(s1));
    r2 = await registrar.register(infoOf(s2));
    watch = await discoverer.watch(SERVICE);
    pool = new InstancePool(watch, { security: insecureLoopback(), logger, failCooldownMs: 60_000 });
  });

  afterAll(async () => {
    pool.close();
    await Promise.all([r1.deregister(), r2.deregister()]);
    await Promise.all([registrar.close(), discoverer.close()]);
    s1.server.forceShutdown();
    s2.server.forceShutdown();
  });

  it('sees both instances and balances calls over them', async () => {
    await eventually(() => pool.size === 2, 3000, 'two instances in the pool');
    const servers: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      const res = await callWithFailover(pool, Echo, { n: i }, { deadlineMs: 2000 });
      expect(res.n).toBe(i);
      servers.push(res.server);
    }
    expect(servers.filter((s) => s === 'echo-1')).toHaveLength(10);
    expect(servers.filter((s) => s === 'echo-2')).toHaveLength(10);
  });

  it('returns non-UNAVAILABLE errors to the caller without trying another instance', async () => {
    const before = (s1.calls.get('Reject') ?? 0) + (s2.calls.get('Reject') ?? 0);
    const err: unknown = await callWithFailover(pool, Reject, { n: 1 }, { deadlineMs: 2000 }).catch((e: unknown) => e);
    expect(errorCode(err)).toBe(grpc.status.INVALID_ARGUMENT);
    expect(errorDetails(err)).toEqual({ field: 'n' });
    expect((s1.calls.get('Reject') ?? 0) + (s2.calls.get('Reject') ?? 0)).toBe(before + 1);
  });

  it('enforces the deadline: a server that never answers gives DEADLINE_EXCEEDED in time', async () => {
    const started = Date.now();
    const err: unknown = await callWithFailover(pool, Hang, { n: 1 }, { deadlineMs: 300 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(errorCode(err)).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1500);
    // a timeout is not a reason to re-send to another instance
    expect((s1.calls.get('Hang') ?? 0) + (s2.calls.get('Hang') ?? 0)).toBe(1);

    const direct = createClient(infoOf(s1).addr, insecureLoopback(), 'test');
    try {
      const t0 = Date.now();
      await expect(unaryCall(direct, Hang, { n: 2 }, { deadlineMs: 200 })).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
      expect(Date.now() - t0).toBeLessThan(1200);
    } finally {
      direct.close();
    }
  });

  it('streams: client stream and bidi, without a deadline', async () => {
    const pick = pool.pick();
    if (!pick) throw new Error('no instance');
    const total = await new Promise<EchoRes>((resolve, reject) => {
      const stream = openClientStream(pick.client, Sum, (err, res) => (err ? reject(err) : res ? resolve(res) : reject(new Error('no response'))));
      for (let i = 1; i <= 4; i += 1) stream.write({ n: i });
      stream.end();
    });
    expect(total.n).toBe(10);

    const chat = openBidi(pick.client, Chat);
    const got: number[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      chat.on('data', (r: EchoRes) => got.push(r.n));
      chat.on('end', () => resolve());
      chat.on('error', reject);
    });
    chat.write({ n: 1 });
    chat.write({ n: 5 });
    chat.end();
    await ended;
    expect(got).toEqual([2, 10]);
  });

  it('draining instances are not picked; fail-open when every instance is cooling down', async () => {
    const tmpWatch = await discoverer.watch(SERVICE);
    const p = new InstancePool(tmpWatch, { security: insecureLoopback(), logger, failCooldownMs: 60_000 });
    try {
      expect(p.size).toBe(2);
      p.markDraining('echo-1');
      for (let i = 0; i < 5; i += 1) expect(p.pick()?.id).toBe('echo-2');
      expect(p.pick(new Set(['echo-2']))).toBeUndefined();
      p.markFailed('echo-2');
      expect(p.pick()?.id).toBe('echo-2'); // fail-open, draining stays out
    } finally {
      p.close();
      await tmpWatch.close();
    }
  });

  it('fails over to the other instance when one dies, with no error to the caller', async () => {
    s1.server.forceShutdown();
    const before2 = s2.calls.get('Echo') ?? 0;
    for (let i = 0; i < 10; i += 1) {
      const res = await callWithFailover(pool, Echo, { n: i }, { deadlineMs: 2000 });
      expect(res.server).toBe('echo-2');
    }
    expect((s2.calls.get('Echo') ?? 0) - before2).toBe(10);
    // still registered in etcd (its lease is alive): the pool just cools it down
    expect(pool.size).toBe(2);
    // round-robin must have hit echo-1 and marked it failed: it is out of picks now
    for (let i = 0; i < 4; i += 1) expect(pool.pick()?.id).toBe('echo-2');
  });

  it('deregistering removes the instance from the pool', async () => {
    const removed = new Promise<string>((resolve) => pool.once('removed', resolve));
    await r1.deregister();
    expect(await removed).toBe('echo-1');
    expect(pool.size).toBe(1);
    expect(pool.get('echo-1')).toBeUndefined();
    for (let i = 0; i < 3; i += 1) expect(pool.pick()?.id).toBe('echo-2');
  });

  it('throws NO_INSTANCE naming the service when there is none', async () => {
    await r2.deregister();
    await eventually(() => pool.size === 0, 3000, 'empty pool');
    const err: unknown = await callWithFailover(pool, Echo, { n: 1 }, { deadlineMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoInstanceError);
    expect(err).toMatchObject({ code: 'NO_INSTANCE', service: SERVICE });
    expect(String(err)).toContain(SERVICE);
  });

  it('gives the last UNAVAILABLE when every instance is down', async () => {
    const dead = await startServer('echo-dead');
    const reg = await registrar.register(infoOf(dead));
    const w = await discoverer.watch(SERVICE);
    const p = new InstancePool(w, { security: insecureLoopback(), logger });
    try {
      dead.server.forceShutdown();
      const err: unknown = await callWithFailover(p, Echo, { n: 1 }, { deadlineMs: 2000 }).catch((e: unknown) => e);
      expect(errorCode(err)).toBe(grpc.status.UNAVAILABLE);
      expect(err).not.toBeInstanceOf(NoInstanceError);
    } finally {
      p.close();
      await w.close();
      await reg.deregister();
    }
  });
});
