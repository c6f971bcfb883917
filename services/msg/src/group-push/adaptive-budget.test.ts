// The adaptive group traffic control over real TCP connections (the gateway's
// Connection over its TcpTransport, real client sockets): the slice budget
// grows while sockets take what is written, shrinks when the slices delay
// the event loop, and a client that stops reading neither holds up the others nor
// has its buffer grown past the high-water mark; what it misses is counted.
import net from 'node:net';
import { once } from 'node:events';
import { createLogger } from '@tiertalk/log';
import { loadMsgConfig } from '../config';
import { Connection } from '../conn/connection';
import { TcpTransport } from '../conn/tcp-server';
import { GroupPushControl } from './traffic-control';
import type { GroupPushControlOptions, GroupPushTarget } from './traffic-control';

jest.setTimeout(60_000);

const log = createLogger({ service: 'msg-test', instanceId: 'test', level: 'silent' });
const config = loadMsgConfig({ TT_INSTANCE_ID: 'gw-test' });

interface Member {
  /** The gateway side. */
  conn: Connection;
  /** The client side. */
  client: net.Socket;
  /** Bytes the client has read. */
  received: number;
}

let server: net.Server;
const members: Member[] = [];
const controls: Array<GroupPushControl<GroupPushTarget>> = [];

beforeAll(async () => {
  server = net.createServer({ noDelay: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
});

afterEach(() => {
  for (const c of controls.splice(0)) c.close();
  for (const m of members.splice(0)) {
    m.conn.close('test end', 'destroy');
    m.client.destroy();
  }
});

afterAll(async () => {
  server.close();
  await once(server, 'close');
});

/** `n` logged-in connections; `reading: false` clients never read. */
async function connect(n: number, reading = true): Promise<Member[]> {
  const port = (server.address() as net.AddressInfo).port;
  const out: Member[] = [];
  for (let i = 0; i < n; i++) {
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const client = net.connect(port, '127.0.0.1');
    const [socket] = await accepted;
    const conn = new Connection(new TcpTransport(socket), config.conn, { onFrame: () => undefined, onClose: () => undefined }, log);
    conn.beginLogin(1, 1);
    conn.markOpen();
    const m: Member = { conn, client, received: 0 };
    if (reading) client.on('data', (chunk: Buffer) => (m.received += chunk.length));
    else client.pause();
    out.push(m);
  }
  members.push(...out);
  return out;
}

function control(over: Partial<Omit<GroupPushControlOptions, 'logger'>>): GroupPushControl<GroupPushTarget> {
  const c = new GroupPushControl<GroupPushTarget>({
    enabled: true,
    tickets: 0,
    intervalMs: 1000,
    queueMax: 10_000_000,
    timeoutMs: 30_000,
    sliceMs: 10,
    maxLoopDelayMs: 50,
    connHighWaterBytes: 256 * 1024,
    logger: log,
    ...over,
  });
  controls.push(c);
  return c;
}

/** Resolves once every member has read `bytes`. */
async function allRead(group: Member[], bytes: number): Promise<void> {
  for (const m of group) {
    while (m.received < bytes) await once(m.client, 'data');
  }
}

/** Resolves once nothing waits in the control (polled: the control has no event for it). */
async function drained(c: GroupPushControl<GroupPushTarget>): Promise<void> {
  while (c.queuedDeliveries > 0) await new Promise((r) => setTimeout(r, 20));
}

const FRAME = Buffer.alloc(100, 7);

describe('adaptive group traffic control over real sockets', () => {
  it('grows its slice budget while the sockets take everything, and delivers it all', async () => {
    const group = await connect(50);
    const c = control({ sliceMs: 1000, maxLoopDelayMs: 10_000 });
    const pushes = 400;
    for (let i = 0; i < pushes; i++) c.submit(FRAME, group.map((m) => m.conn));
    await allRead(group, pushes * FRAME.length);
    expect(c.stats.delivered).toBe(pushes * group.length);
    expect(c.stats.budgetPeak).toBeGreaterThan(4096);
    expect(c.stats.budgetCuts).toBe(0);
    expect(c.stats.shedSlowConnection + c.stats.shedQueueFull + c.stats.shedTimeout).toBe(0);
  });

  it('shrinks its budget when its own slices hold the event loop up, and still delivers everything', async () => {
    const group = await connect(50);
    // One member whose writes are slow (60 ms each): every slice holds the loop that long.
    const slow: GroupPushTarget = {
      get deliverable() {
        return group[0].conn.deliverable;
      },
      get outboundBytes() {
        return group[0].conn.outboundBytes;
      },
      send(frame: Buffer): boolean {
        const until = Date.now() + 60;
        while (Date.now() < until);
        return group[0].conn.send(frame);
      },
    };
    // Only the loop delay can shrink the budget here (a slice may run a minute).
    const c = control({ sliceMs: 60_000, maxLoopDelayMs: 50 });
    const pushes = 20;
    // One push at a time, as from route: one slice each, 60 ms apiece.
    for (let i = 0; i < pushes; i++) {
      c.submit(FRAME, [slow, ...group.slice(1).map((m) => m.conn)]);
      while (c.queuedDeliveries > 0) await new Promise((r) => setImmediate(r));
    }
    await allRead(group, pushes * FRAME.length);
    expect(c.stats.budgetCuts).toBeGreaterThanOrEqual(1);
    expect(c.stats.delivered).toBe(pushes * group.length);
  });

  it('a client that does not read does not hold up the others; its memory stays bounded and its misses are counted', async () => {
    const fast = await connect(10);
    const [stuck] = await connect(1, false);
    const highWater = 64 * 1024;
    const c = control({ connHighWaterBytes: highWater, timeoutMs: 2000 });
    const frame = Buffer.alloc(4 * 1024, 1);
    const pushes = 4000; // 16 MiB to each member: far beyond what the kernel buffers for the stuck one
    let peakStuckBytes = 0;
    for (let i = 0; i < pushes; i++) {
      // Pushes arrive over time (as from route), not all in one turn.
      c.submit(frame, [stuck.conn, ...fast.map((m) => m.conn)]);
      await new Promise((r) => setImmediate(r));
      peakStuckBytes = Math.max(peakStuckBytes, stuck.conn.outboundBytes);
    }
    await allRead(fast, pushes * frame.length);
    // The stuck one's held-back frames time out.
    await drained(c);
    expect(stuck.conn.isClosed).toBe(false);
    // Its socket buffer holds at most the mark plus one frame (another mark may wait in the control).
    expect(peakStuckBytes).toBeLessThanOrEqual(highWater + frame.length);
    expect(c.stats.shedSlowConnection).toBeGreaterThan(0);
    expect(c.stats.delivered + c.stats.shedSlowConnection + c.stats.shedTimeout).toBe(pushes * (fast.length + 1));
    expect(c.stats.delivered).toBeGreaterThanOrEqual(pushes * fast.length);
  });
});
