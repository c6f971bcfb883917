// A tiny fake msg gateway for the SDK's unit tests: a test double of the
// server peer speaking the real framing, over TCP or WebSocket. It answers
// nothing by itself; tests read what the client sent and write responses.
import net from 'node:net';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { FrameReader, encodeFrame, type Frame } from '@tiertalk/pdu';
import { CID, IM, serviceIdOf } from '@tiertalk/proto';

/** One accepted connection on the fake server. */
export class FakeConn {
  readonly frames: Frame[] = [];
  private readonly reader = new FrameReader();
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private seen = 0;
  onFrame: ((f: Frame) => void) | undefined;

  constructor(
    private readonly writeBytes: (b: Buffer) => void,
    readonly end: () => void,
  ) {}

  feed(chunk: Buffer): void {
    for (const f of this.reader.push(chunk)) {
      this.frames.push(f);
      this.onFrame?.(f);
      const w = this.waiters.find((x) => x.match(f));
      if (w) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(f);
      }
    }
  }

  /** Resolves with the next not-yet-awaited frame of that command (also one that already arrived). */
  next(commandId: number): Promise<Frame> {
    const match = (f: Frame): boolean => f.commandId === commandId;
    for (let i = this.seen; i < this.frames.length; i += 1) {
      if (match(this.frames[i])) {
        this.seen = i + 1;
        return Promise.resolve(this.frames[i]);
      }
    }
    this.seen = this.frames.length;
    return new Promise((resolve) => this.waiters.push({ match, resolve: (f) => { this.seen = this.frames.length; resolve(f); } }));
  }

  send(commandId: number, seqNum: number, body: Uint8Array): void {
    this.writeBytes(encodeFrame(serviceIdOf(commandId), commandId, seqNum, body));
  }

  raw(b: Buffer): void {
    this.writeBytes(b);
  }
}

export interface FakeServer {
  port: number;
  conns: FakeConn[];
  nextConn(): Promise<FakeConn>;
  close(): Promise<void>;
}

function track(conns: FakeConn[]): { add(c: FakeConn): void; next(): Promise<FakeConn> } {
  const waiting: ((c: FakeConn) => void)[] = [];
  let taken = 0;
  return {
    add(c) {
      conns.push(c);
      const w = waiting.shift();
      if (w) {
        taken += 1;
        w(c);
      }
    },
    next() {
      if (taken < conns.length) return Promise.resolve(conns[taken++]);
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

export async function startTcpServer(): Promise<FakeServer> {
  const conns: FakeConn[] = [];
  const sockets = new Set<net.Socket>();
  const t = track(conns);
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const c = new FakeConn((b) => socket.write(b), () => socket.end());
    socket.on('data', (chunk: Buffer) => c.feed(chunk));
    t.add(c);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return {
    port: addr.port,
    conns,
    nextConn: t.next,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export async function startWsServer(): Promise<FakeServer> {
  const conns: FakeConn[] = [];
  const t = track(conns);
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.on('listening', resolve));
  wss.on('connection', (ws: WsSocket) => {
    // Split every frame in two messages: boundaries must not matter.
    const c = new FakeConn(
      (b) => {
        const cut = Math.floor(b.length / 2);
        ws.send(b.subarray(0, cut), { binary: true });
        ws.send(b.subarray(cut), { binary: true });
      },
      () => ws.close(),
    );
    ws.on('message', (data) => {
      c.feed(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
    });
    t.add(c);
  });
  const addr = wss.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return {
    port: addr.port,
    conns,
    nextConn: t.next,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

export const SELF = 1001;

export function userInfo(userId: number): IM.BaseDefine.UserInfo.$Properties {
  return {
    userId,
    userGender: 1,
    userNickName: 'Alice',
    avatarUrl: '',
    departmentId: 1,
    email: 'a@x',
    userRealName: 'alice',
    userTel: '',
    userDomain: 'alice',
    status: 0,
  };
}

/** Answers the next IMLoginReq with success. */
export async function acceptLogin(conn: FakeConn, userId = SELF): Promise<IM.Login.IMLoginReq> {
  const f = await conn.next(CID.CID_LOGIN_REQ_USERLOGIN);
  const req = IM.Login.IMLoginReq.decode(f.body);
  conn.send(
    CID.CID_LOGIN_RES_USERLOGIN,
    f.seqNum,
    IM.Login.IMLoginRes.encode({ serverTime: 1, resultCode: 0, resultString: '', onlineStatus: 1, userInfo: userInfo(userId) }).finish(),
  );
  return req;
}


/** What a responder answers to one request frame: [response command id, body], or undefined for no answer. */
export type Responder = (f: Frame) => [number, Uint8Array] | undefined;

/** Answers requests by command id with the request's seq_num, as a msg gateway relays db-proxy replies (docs/PROTOCOL.md §1). */
export function serve(conn: FakeConn, responders: ReadonlyMap<number, Responder>): void {
  conn.onFrame = (f) => {
    const answer = responders.get(f.commandId)?.(f);
    if (answer) conn.send(answer[0], f.seqNum, answer[1]);
  };
}
