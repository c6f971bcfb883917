import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { FrameReader, encodeFrame } from '@tiertalk/pdu';
import type { Frame } from '@tiertalk/pdu';
import { createLogger } from '@tiertalk/log';
import { RefusalLog } from '@tiertalk/metrics';
import type { ConnectionLimits } from '../config';
import { TEST_CONNECTION_LIMITS } from '../../test/connection-fixture';
import { ClientAdmission } from './admission';
import type { AdmissionTicket } from './admission';
import { Connection } from './connection';
import { startTcpServer } from './tcp-server';
import type { ClientListener } from './tcp-server';
import type { Transport } from './transport';
import { startWsServer } from './ws-server';

const log = createLogger({ service: 'msg-test', instanceId: 'test', level: 'silent' });

const LIMITS = TEST_CONNECTION_LIMITS;

interface Harness {
  port: number;
  conns: Connection[];
  frames: Array<{ conn: Connection; frame: Frame }>;
  closes: Array<{ conn: Connection; reason: string }>;
  refusals: Array<{ reason: string }>;
  /** Extra per-frame behaviour (e.g. start tracked work). */
  onFrame?: (conn: Connection, frame: Frame) => void;
  stop(): void;
}

const harnesses: Harness[] = [];
const sockets: net.Socket[] = [];

async function harness(limits: Partial<ConnectionLimits> = {}, kind: 'tcp' | 'ws' = 'tcp'): Promise<Harness> {
  const conns: Connection[] = [];
  const frames: Harness['frames'] = [];
  const closes: Harness['closes'] = [];
  const all = { ...LIMITS, ...limits };
  const refusals: Harness['refusals'] = [];
  const hooks = {
    onFrame: (conn: Connection, frame: Frame): void => {
      frames.push({ conn, frame });
      h.onFrame?.(conn, frame);
    },
    onClose: (conn: Connection, reason: string): void => void closes.push({ conn, reason }),
    onRefused: (_conn: Connection, reason: string): void => void refusals.push({ reason }),
  };
  const accept = (t: Transport, ticket: AdmissionTicket): void => {
    conns.push(new Connection(t, all, hooks, log, ticket));
  };
  const admission = new ClientAdmission({ maxConnPerIp: 0, maxUnauthPerIp: 0 }, new RefusalLog(log));
  const listener: ClientListener =
    kind === 'tcp'
      ? await startTcpServer('127.0.0.1', 0, accept, log, admission)
      : await startWsServer('127.0.0.1', 0, all.maxFrameBytes, accept, log, admission);
  const h: Harness = {
    port: listener.port,
    conns,
    frames,
    closes,
    refusals,
    stop: () => {
      for (const c of conns) c.close('test end', 'destroy');
      listener.stopAccepting();
    },
  };
  harnesses.push(h);
  return h;
}

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  s.setNoDelay(true);
  sockets.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return s;
}

function closedPromise(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) resolve();
    else s.once('close', () => resolve());
  });
}

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

afterEach(() => {
  for (const h of harnesses.splice(0)) h.stop();
  for (const s of sockets.splice(0)) s.destroy();
});

describe('Connection over TCP', () => {
  it('dispatches in order and at most maxInFlight at a time; the rest wait until work finishes', async () => {
    const h = await harness({ maxInFlight: 4 });
    const finishers: Array<() => void> = [];
    const dispatched: number[] = [];
    // Every frame starts work that finishes only when the test says so.
    h.onFrame = (conn, frame) => {
      dispatched.push(frame.seqNum);
      conn.trackWork(new Promise<void>((resolve) => finishers.push(resolve)));
    };
    const s = await connect(h.port);
    s.write(Buffer.concat(Array.from({ length: 50 }, (_, i) => encodeFrame(7, 0x0701, i + 1, Buffer.alloc(0)))));
    await until(() => dispatched.length === 4);
    // A marker behind the flood changes nothing: still 4 running.
    s.write(encodeFrame(7, 0x0701, 51, Buffer.alloc(0)));
    await until(() => h.conns[0].requestsInFlight === 4);
    expect(dispatched).toEqual([1, 2, 3, 4]);
    // Each finished request lets exactly the next one in, in order.
    while (dispatched.length < 51) {
      const n = dispatched.length;
      finishers.shift()?.();
      await until(() => dispatched.length === n + 1);
      expect(h.conns[0].requestsInFlight).toBeLessThanOrEqual(4);
    }
    expect(dispatched).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    for (const f of finishers.splice(0)) f();
  });

  it('before login accepts frames up to preLoginMaxFrameBytes only (refused, closed); after login the full cap', async () => {
    const h = await harness({ preLoginMaxFrameBytes: 64 });
    const s = await connect(h.port);
    s.write(encodeFrame(7, 0x0701, 1, Buffer.alloc(48)));
    await until(() => h.frames.length === 1);
    s.write(encodeFrame(7, 0x0701, 2, Buffer.alloc(49)));
    await closedPromise(s);
    expect(h.closes.map((c) => c.reason)).toEqual(['bad frame']);
    expect(h.refusals.map((r) => r.reason)).toEqual(['frame_too_large']);

    // After login (markOpen) the full cap applies.
    const h2 = await harness({ preLoginMaxFrameBytes: 64 });
    const s2 = await connect(h2.port);
    await until(() => h2.conns.length === 1);
    h2.conns[0].beginLogin(1, 1);
    h2.conns[0].markOpen();
    s2.write(encodeFrame(7, 0x0701, 3, Buffer.alloc(5000)));
    await until(() => h2.frames.length === 1);
    expect(h2.conns[0].isClosed).toBe(false);
  });

  it('reassembles frames split across segments and splits merged ones, in order', async () => {
    const h = await harness();
    const s = await connect(h.port);
    const pdus = [
      encodeFrame(7, 0x0701, 1, Buffer.alloc(0)),
      encodeFrame(3, 0x0301, 2, Buffer.from('hello world')),
      encodeFrame(1, 0x0103, 3, Buffer.alloc(3000, 7)),
    ];
    const all = Buffer.concat(pdus);
    // Merged: the first two and part of the third in one write; then the rest byte by byte-ish.
    s.write(all.subarray(0, pdus[0].length + pdus[1].length + 5));
    await sleep(20);
    for (let off = pdus[0].length + pdus[1].length + 5; off < all.length; off += 700) {
      s.write(all.subarray(off, Math.min(all.length, off + 700)));
      await sleep(5);
    }
    await until(() => h.frames.length === 3);
    expect(h.frames.map((f) => f.frame.seqNum)).toEqual([1, 2, 3]);
    expect(h.frames[1].frame.body.toString()).toBe('hello world');
    expect(h.frames[2].frame.body.equals(Buffer.alloc(3000, 7))).toBe(true);
    expect(h.conns[0].isClosed).toBe(false);
  });

  it('closes only the connection that declares an oversize frame', async () => {
    const h = await harness({ maxFrameBytes: 1024 });
    const bad = await connect(h.port);
    const good = await connect(h.port);
    await until(() => h.conns.length === 2);
    const header = Buffer.alloc(16);
    header.writeUInt32BE(2000, 0);
    const badClosed = closedPromise(bad);
    bad.write(header);
    await badClosed;
    expect(h.closes).toHaveLength(1);
    expect(h.closes[0].reason).toBe('bad frame');
    good.write(encodeFrame(7, 0x0701, 9, Buffer.alloc(0)));
    await until(() => h.frames.length === 1);
    expect(h.frames[0].frame.seqNum).toBe(9);
    expect(h.closes).toHaveLength(1);
  });

  it('closes on a zero length', async () => {
    const h = await harness();
    const s = await connect(h.port);
    const closed = closedPromise(s);
    s.write(Buffer.alloc(4));
    await closed;
    expect(h.closes[0].reason).toBe('bad frame');
  });

  it('queues while the socket is full and flushes in order once the client reads', async () => {
    const h = await harness({ maxOutboundBytes: 256 * 1024 * 1024 });
    const s = await connect(h.port);
    s.pause();
    await until(() => h.conns.length === 1);
    const conn = h.conns[0];
    const body = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    // Fill the kernel buffers until our own queue holds something.
    while (conn.outboundBytes < 512 * 1024 && sent < 4000) {
      expect(conn.sendPdu(0x0301, sent % 0x10000, body)).toBe(true);
      sent += 1;
    }
    expect(conn.outboundBytes).toBeGreaterThan(0);
    const reader = new FrameReader({ maxFrameBytes: LIMITS.maxFrameBytes });
    const seqs: number[] = [];
    s.on('data', (c: Buffer) => {
      for (const f of reader.push(c)) seqs.push(f.seqNum);
    });
    s.resume();
    await until(() => seqs.length === sent, 10_000);
    expect(seqs).toEqual(Array.from({ length: sent }, (_, i) => i % 0x10000));
    expect(conn.isClosed).toBe(false);
  });

  it('closes a client that does not read once the outbound cap is passed', async () => {
    const h = await harness({ maxOutboundBytes: 1024 * 1024 });
    const s = await connect(h.port);
    s.pause();
    await until(() => h.conns.length === 1);
    const conn = h.conns[0];
    const body = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < 20_000 && !conn.isClosed; i += 1) conn.sendPdu(0x0301, 0, body);
    expect(conn.isClosed).toBe(true);
    expect(h.closes.map((c) => c.reason)).toEqual(['outbound cap exceeded']);
    expect(conn.sendPdu(0x0301, 0, body)).toBe(false);
  });

  it('closes a client that does not drain within the drain timeout', async () => {
    const h = await harness({ drainTimeoutMs: 300, maxOutboundBytes: 512 * 1024 * 1024 });
    const s = await connect(h.port);
    s.pause();
    await until(() => h.conns.length === 1);
    const conn = h.conns[0];
    const body = Buffer.alloc(64 * 1024, 1);
    // More than the kernel's socket buffers take, so the writes really stall (not only the
    // per-tick cork): 64 MiB queued while the peer reads nothing.
    for (let i = 0; i < 4000 && conn.outboundBytes < 64 * 1024 * 1024; i += 1) conn.sendPdu(0x0301, 0, body);
    expect(conn.outboundBytes).toBeGreaterThan(0);
    await until(() => conn.isClosed, 3000);
    expect(h.closes[0].reason).toBe('drain timeout');
  });

  it('closes a connection that has not logged in within the login timeout', async () => {
    const h = await harness({ loginTimeoutMs: 200 });
    const s = await connect(h.port);
    const started = Date.now();
    await closedPromise(s);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(h.closes[0].reason).toBe('login timeout');
  });

  it('treats any received bytes as activity for the idle timeout', async () => {
    const h = await harness({ pcIdleTimeoutMs: 300 });
    const s = await connect(h.port);
    // A frame fed one byte at a time: no complete frame, but bytes keep arriving.
    const pdu = encodeFrame(7, 0x0701, 1, Buffer.alloc(0));
    for (let i = 0; i < 8; i += 1) {
      s.write(pdu.subarray(i, i + 1));
      await sleep(100);
    }
    expect(h.closes).toHaveLength(0);
    const started = Date.now();
    await closedPromise(s);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(h.closes[0].reason).toBe('idle timeout');
  });

  it('close() is idempotent: one close report, writes refused afterwards', async () => {
    const h = await harness();
    const s = await connect(h.port);
    await until(() => h.conns.length === 1);
    const conn = h.conns[0];
    const closed = closedPromise(s);
    conn.close('first');
    conn.close('second');
    conn.onClose();
    await closed;
    expect(h.closes.map((c) => c.reason)).toEqual(['first']);
    expect(conn.send(encodeFrame(7, 0x0701, 0, Buffer.alloc(0)))).toBe(false);
  });

  it('delivers a reply written just before a flushing close', async () => {
    const h = await harness();
    const s = await connect(h.port);
    await until(() => h.conns.length === 1);
    const got: Frame[] = [];
    const reader = new FrameReader();
    s.on('data', (c: Buffer) => got.push(...reader.push(c)));
    const closed = closedPromise(s);
    h.conns[0].sendPdu(0x0106, 77, Buffer.from([8, 0]));
    h.conns[0].close('logout', 'flush');
    await closed;
    expect(got.map((f) => [f.commandId, f.seqNum])).toEqual([[0x0106, 77]]);
  });
});

describe('Connection over WebSocket', () => {
  async function wsConnect(port: number): Promise<WebSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return ws;
  }

  it('feeds binary messages to the same byte stream (frames across message boundaries)', async () => {
    const h = await harness({}, 'ws');
    const ws = await wsConnect(h.port);
    const all = Buffer.concat([encodeFrame(7, 0x0701, 1, Buffer.alloc(0)), encodeFrame(3, 0x0301, 2, Buffer.from('abc'))]);
    ws.send(all.subarray(0, 10));
    ws.send(all.subarray(10, 25));
    ws.send(all.subarray(25));
    await until(() => h.frames.length === 2);
    expect(h.frames.map((f) => f.frame.seqNum)).toEqual([1, 2]);
    expect(h.frames[1].frame.body.toString()).toBe('abc');
    // And the server side writes PDUs back as binary messages.
    const back = new Promise<Buffer>((resolve) => ws.on('message', (d) => resolve(Buffer.isBuffer(d) ? d : Buffer.alloc(0))));
    h.conns[0].sendPdu(0x0701, 5, Buffer.alloc(0));
    const pdu = await back;
    expect(pdu.readUInt16BE(10)).toBe(0x0701);
    expect(pdu.readUInt16BE(12)).toBe(5);
    ws.close();
  });

  it('closes on a text message', async () => {
    const h = await harness({}, 'ws');
    const ws = await wsConnect(h.port);
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.send('hello');
    await closed;
    expect(h.closes[0].reason).toBe('transport error');
  });
});
