// runPressure against two fake gateways sharing one in-memory routing table (a
// test double of the server side, speaking the real framing), with knobs to
// drop, duplicate or leave un-ACKed some messages.
import net from 'node:net';
import { FrameReader, encodeFrame } from '@tiertalk/pdu';
import { CID, IM, serviceIdOf } from '@tiertalk/proto';
import { parseOptions, type PressureOptions } from './options';
import { progressLine, runPressure, type RunResult } from './run';

interface Knobs {
  /** Every n-th message is ACKed but not delivered. */
  dropEvery?: number;
  /** Every n-th message is delivered twice. */
  dupEvery?: number;
  /** Every n-th message is neither ACKed nor delivered. */
  noAckEvery?: number;
  /** Login of this user name is refused. */
  refuse?: string;
}

class FakeCluster {
  readonly servers: net.Server[] = [];
  readonly sockets = new Set<net.Socket>();
  private readonly byUser = new Map<number, net.Socket>();
  private readonly ids = new Map<string, number>();
  counters = { received: 0, dropped: 0, duplicated: 0, unacked: 0 };

  constructor(private readonly knobs: Knobs) {}

  async start(count: number): Promise<number[]> {
    const ports: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const server = net.createServer((s) => this.accept(s));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const addr = server.address();
      if (addr === null || typeof addr === 'string') throw new Error('no port');
      this.servers.push(server);
      ports.push(addr.port);
    }
    return ports;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const reader = new FrameReader();
    let userId = 0;
    const send = (cid: number, seq: number, body: Uint8Array): void => {
      socket.write(encodeFrame(serviceIdOf(cid), cid, seq, body));
    };
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        if (f.commandId === CID.CID_LOGIN_REQ_USERLOGIN) {
          const req = IM.Login.IMLoginReq.decode(f.body);
          if (req.userName === this.knobs.refuse) {
            send(CID.CID_LOGIN_RES_USERLOGIN, f.seqNum, IM.Login.IMLoginRes.encode({ serverTime: 0, resultCode: 6, resultString: 'no' }).finish());
            socket.end();
            continue;
          }
          userId = this.ids.get(req.userName) ?? this.ids.size + 100;
          this.ids.set(req.userName, userId);
          this.byUser.set(userId, socket);
          const info = { userId, userGender: 0, userNickName: req.userName, avatarUrl: '', departmentId: 1, email: '', userRealName: req.userName, userTel: '', userDomain: '', status: 0 };
          send(CID.CID_LOGIN_RES_USERLOGIN, f.seqNum, IM.Login.IMLoginRes.encode({ serverTime: 0, resultCode: 0, userInfo: info }).finish());
        } else if (f.commandId === CID.CID_MSG_DATA) {
          const n = ++this.counters.received;
          const msg = IM.Message.IMMsgData.decode(f.body);
          if (this.knobs.noAckEvery && n % this.knobs.noAckEvery === 0) {
            this.counters.unacked += 1;
            continue;
          }
          send(CID.CID_MSG_DATA_ACK, f.seqNum, IM.Message.IMMsgDataAck.encode({ userId, sessionId: msg.toSessionId, msgId: n, sessionType: 1 }).finish());
          if (this.knobs.dropEvery && n % this.knobs.dropEvery === 0) {
            this.counters.dropped += 1;
            continue;
          }
          const out = IM.Message.IMMsgData.encode({ ...msg, fromUserId: userId, msgId: n, createTime: 1 }).finish();
          const to = this.byUser.get(msg.toSessionId);
          to?.write(encodeFrame(serviceIdOf(CID.CID_MSG_DATA), CID.CID_MSG_DATA, 0, out));
          if (this.knobs.dupEvery && n % this.knobs.dupEvery === 0) {
            this.counters.duplicated += 1;
            to?.write(encodeFrame(serviceIdOf(CID.CID_MSG_DATA), CID.CID_MSG_DATA, 0, out));
          }
        } else if (f.commandId === CID.CID_LOGIN_REQ_LOGINOUT) {
          send(CID.CID_LOGIN_RES_LOGINOUT, f.seqNum, IM.Login.IMLogoutRsp.encode({ resultCode: 0 }).finish());
          socket.end();
        } else if (f.commandId === CID.CID_OTHER_HEARTBEAT) {
          send(f.commandId, f.seqNum, f.body);
        }
      }
    });
  }
}

function options(argv: string[]): PressureOptions {
  const o = parseOptions(argv);
  if ('help' in o) throw new Error('help');
  return o;
}

async function run(knobs: Knobs, extra: string[]): Promise<{ result: RunResult; fake: FakeCluster; lines: string[] }> {
  const fake = new FakeCluster(knobs);
  const ports = await fake.start(2);
  const lines: string[] = [];
  try {
    const opts = options(['--gateways', ports.map((p) => `127.0.0.1:${p}`).join(','), '--pairs', '3', '--drain', '0.5', '--warmup', '0', ...extra]);
    const result = await runPressure({
      opts,
      endpoints: { kind: 'gateways', gateways: opts.gateways ?? [] },
      out: (l) => lines.push(l),
      warn: (l) => lines.push(`WARN ${l}`),
      stop: new AbortController().signal,
      hurry: new AbortController().signal,
    });
    return { result, fake, lines };
  } finally {
    await fake.stop();
  }
}

describe('runPressure', () => {
  it('counts a clean closed-loop run and spreads pairs over both gateways', async () => {
    const { result, lines } = await run({}, ['--rate', '0', '--window', '4', '--duration', '0.6']);
    const s = result.stats;
    expect(s.sent).toBeGreaterThan(50);
    expect(s.acked).toBe(s.sent);
    expect(s.delivered).toBe(s.sent);
    expect(s).toMatchObject({ lost: 0, duplicated: 0, failed: 0, misrouted: 0 });
    expect(result.scenario).toContain('3/3 pairs span two gateways');
    expect(result.disconnects).toBe(0);
    expect(lines.some((l) => l.startsWith('logged in 6 clients'))).toBe(true);
  });

  it('detects lost, duplicated and un-ACKed messages', async () => {
    const { result, fake } = await run({ dropEvery: 7, dupEvery: 11, noAckEvery: 13 }, ['--rate', '0', '--window', '4', '--duration', '0.6', '--ack-timeout', '300']);
    const s = result.stats;
    expect(fake.counters.dropped).toBeGreaterThan(0);
    expect(s.lost).toBe(fake.counters.dropped);
    expect(s.failed).toBe(fake.counters.unacked);
    expect(s.failedByCode).toEqual({ ACK_TIMEOUT: fake.counters.unacked });
    // Each knob skips the later ones, so the fake counts only what it really did.
    expect(s.duplicated).toBe(fake.counters.duplicated);
    expect(s.acked).toBe(s.sent - s.failed);
    expect(s.delivered).toBe(s.acked - s.lost);
  });

  it('holds the requested rate in open loop', async () => {
    const { result, lines } = await run({}, ['--rate', '300', '--duration', '1']);
    expect(result.stats.sent).toBeGreaterThan(240);
    expect(result.stats.sent).toBeLessThan(330);
    expect(result.stats.lost).toBe(0);
    // 300/6 = 50 per connection: above TeamTalk's 20/s, so the tool says so.
    expect(lines.some((l) => l.startsWith('WARN note:'))).toBe(true);
  });

  it('fails with the refused user and closes every client it opened', async () => {
    const fake = new FakeCluster({ refuse: 'bench0004' });
    const ports = await fake.start(2);
    try {
      const opts = options(['--gateways', `127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`, '--pairs', '20', '--duration', '1']);
      const err = await runPressure({
        opts,
        endpoints: { kind: 'gateways', gateways: opts.gateways ?? [] },
        out: () => undefined,
        warn: () => undefined,
        stop: new AbortController().signal,
        hurry: new AbortController().signal,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(String(err)).toMatch(/login of bench0004 at 127\.0\.0\.1:\d+ failed: .*refused: 6/);
      const deadline = Date.now() + 3000;
      while (fake.sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(fake.sockets.size).toBe(0);
    } finally {
      await fake.stop();
    }
  });

  it('stops early on the stop signal and still reports', async () => {
    const fake = new FakeCluster({});
    const ports = await fake.start(2);
    try {
      const opts = options(['--gateways', `127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`, '--pairs', '1', '--rate', '0', '--duration', '30', '--drain', '0.2']);
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 300);
      const started = Date.now();
      const result = await runPressure({
        opts,
        endpoints: { kind: 'gateways', gateways: opts.gateways ?? [] },
        out: () => undefined,
        warn: () => undefined,
        stop: stop.signal,
        hurry: new AbortController().signal,
      });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(result.interrupted).toMatch(/stopped by signal/);
      expect(result.stats.sent).toBeGreaterThan(0);
    } finally {
      await fake.stop();
    }
  });

  it('warms up first: marked progress lines, warm-up messages checked but not measured', async () => {
    const { result, lines } = await run({}, ['--rate', '0', '--window', '2', '--warmup', '1', '--duration', '0.5']);
    const s = result.stats;
    expect(result.warmupSec).toBeGreaterThanOrEqual(0.95);
    expect(result.sendingSec).toBeGreaterThanOrEqual(0.45);
    expect(result.sendingSec).toBeLessThan(1.5);
    expect(s.warmupSent).toBeGreaterThan(0);
    expect(s).toMatchObject({ lost: 0, duplicated: 0, failed: 0, misrouted: 0 });
    expect(s.acked).toBe(s.sent);
    expect(s.delivered).toBe(s.sent);
    expect(s.measured.sent).toBe(s.sent - s.warmupSent);
    expect(s.ackLatency.count).toBe(s.sent - s.warmupSent);
    expect(s.deliveryLatency.count).toBe(s.sent - s.warmupSent);
    expect(s.seconds[0].warmup).toBe(true);
    expect(s.seconds.slice(1).some((x) => x.warmup)).toBe(false);
    expect(lines.some((l) => /^\[ {3}1s warmup\] sent \d+\/s .*p99 ack \d+\.\d\d ms/.test(l))).toBe(true);
    expect(result.scenario).toContain('1 s warm-up + 0.5 s measured');
  });

  it('prints that second\'s p99s in progress lines, with the phase', () => {
    const base = { second: 2, sent: 10, acked: 9, delivered: 8, failed: 0, inFlight: 1, draining: false };
    const lat = { ackCount: 9, ackP99Ms: 1.234, deliveryCount: 0, deliveryP99Ms: 0 };
    expect(progressLine(base, lat)).toBe('[   2s] sent 10/s  acked 9/s  delivered 8/s  in-flight 1  p99 ack 1.23 ms  p99 delivery –\n');
    expect(progressLine({ ...base, warmup: true }, lat)).toMatch(/^\[ {3}2s warmup\] /);
    expect(progressLine({ ...base, draining: true }, lat)).toMatch(/^\[ {3}2s drain\] /);
  });
});
