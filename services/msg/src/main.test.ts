// The gateway in-process against tiny in-test DbProxy and Route gRPC servers
// registered in the real etcd (unique prefix), driven by a TeamTalk-framed TCP client.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { CID, DbProxyService, GatewayService, IM, RouteService, serviceIdOf, tiertalk } from '@tiertalk/proto';
import type { MsgStoreBatch, MsgStoredBatch, EnvelopeBatch, DeliverReport, SessionBatch, SessionRef, SessionResults, ValidateBatch, ValidatedBatch, ValidateRsp, PushAck, PushBatch, UsersStatReq, UsersStatRsp } from '@tiertalk/proto';
import { FrameReader, encodeFrame } from '@tiertalk/pdu';
import type { Frame } from '@tiertalk/pdu';
import { createLogger } from '@tiertalk/log';
import { waitFor } from '@tiertalk/testkit';
import { Registry } from '@tiertalk/registry';
import type { Registration, ServiceWatch } from '@tiertalk/registry';
import { BatchedCallService, bindServer, createClient, createServer, openBidi, insecureLoopback } from '@tiertalk/rpc';
import { loadMsgConfig } from './config';
import { startGateway } from './main';
import type { RunningGateway } from './main';

const ETCD = process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379';
const log = createLogger({ service: 'msg-test', instanceId: 'test', level: process.env.TT_TEST_LOG_LEVEL ?? 'silent' });

const USERS: Record<string, { id: number; password: string }> = {
  alice: { id: 1001, password: 'pw-a' },
  bob: { id: 1002, password: 'pw-b' },
  carol: { id: 1003, password: 'pw-c' },
  // Only the silent rate-limit test logs dave in, so no other test sees his sessions.
  dave: { id: 1004, password: 'pw-d' },
};
const { ClientType } = IM.BaseDefine;
const PC = ClientType.CLIENT_TYPE_WINDOWS;
const MOBILE = ClientType.CLIENT_TYPE_ANDROID;

function prefix(): string {
  return `/tiertalk-msg-test-${randomBytes(5).toString('hex')}`;
}

// ---- fake db-proxy ------------------------------------------------------------

function validateOne(req: IM.Server.IMValidateReq.$Properties): ValidateRsp {
  const u = USERS[req.userName];
  if (!u || u.password !== req.password) return IM.Server.IMValidateRsp.create({ userName: req.userName, resultCode: 1, resultString: 'bad credentials' });
  const userInfo = {
    userId: u.id, userGender: 1, userNickName: req.userName, avatarUrl: '', departmentId: 1, email: '',
    userRealName: req.userName, userTel: '', userDomain: '', status: 2, signInfo: 'hi',
  };
  return IM.Server.IMValidateRsp.create({ userName: req.userName, resultCode: 0, userInfo });
}

class FakeDbProxy {
  readonly stored: IM.Message.IMMsgData.$Properties[] = [];
  /** The text of every item read, answered or not. */
  readonly received: string[] = [];
  readonly streams = new Set<grpc.ServerDuplexStream<MsgStoreBatch, MsgStoredBatch>>();
  /** Replies wait this long (a slow group commit). */
  delayMs = 0;
  /** Items are read but never answered. */
  hang = false;
  private readonly counters = new Map<string, number>();
  private server = createServer({ security: insecureLoopback() });
  private registration: Registration | undefined;

  constructor(readonly id: string) {
    this.server.addService(DbProxyService, {
      ValidateStream: new BatchedCallService<ValidateBatch, ValidatedBatch, tiertalk.ValidateItem.$Properties, tiertalk.ValidatedItem.$Properties>(
        {
          itemsOf: (batch) => batch.items,
          run: async (item) => ({ ref: item.ref, rsp: validateOne(item.req) }),
          failed: (item) => ({ ref: item.ref, error: 'failed' }),
          batchOf: (items) => tiertalk.ValidatedBatch.create({ items }),
        },
        { maxInFlight: 1000, logger: log },
      ).handle,
      StoreMessages: (call: grpc.ServerDuplexStream<MsgStoreBatch, MsgStoredBatch>) => {
        this.streams.add(call);
        call.on('data', (batch: MsgStoreBatch) => {
          for (const item of batch.items) this.received.push(Buffer.from(item.msg.msgData).toString());
          if (this.hang) return;
          const items = batch.items.map((item) => this.storeOne(item));
          const reply = (): void => {
            if (!call.destroyed) call.write(tiertalk.MsgStoredBatch.create({ items }));
          };
          if (this.delayMs > 0) setTimeout(reply, this.delayMs);
          else reply();
        });
        call.on('end', () => call.end());
        call.on('error', () => this.streams.delete(call));
        call.on('close', () => this.streams.delete(call));
      },
    });
  }

  private storeOne(item: tiertalk.MsgStoreItem.$Properties): tiertalk.MsgStoredItem.$Properties {
    const m = item.msg;
    if (Buffer.from(m.msgData).toString() === 'REJECT') return { ref: item.ref, msgId: 0, result: tiertalk.StoreResult.STORE_REJECTED, reason: 'test' };
    const key = [m.fromUserId, m.toSessionId].sort().join(':');
    const id = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, id);
    this.stored.push({ ...m, msgId: id });
    return { ref: item.ref, msgId: id, result: tiertalk.StoreResult.STORE_OK };
  }

  async start(registry: Registry): Promise<void> {
    const port = await bindServer(this.server, '127.0.0.1', 0);
    this.registration = await registry.register({ id: this.id, service: 'db-proxy', addr: `127.0.0.1:${port}`, load: 0, meta: {} });
  }

  /** IMStopReceivePacket on every open stream. */
  sendStop(): void {
    for (const s of this.streams) s.write(tiertalk.MsgStoredBatch.create({ items: [], stop: { result: 0 } }));
  }

  async kill(): Promise<void> {
    this.server.forceShutdown();
    await this.registration?.deregister();
  }
}

// ---- fake route ----------------------------------------------------------------

class FakeRoute {
  readonly sessions = new Map<string, SessionRef>();
  readonly logouts: SessionRef[] = [];
  /** Every envelope received on Deliver, in order. */
  readonly envelopes: tiertalk.Envelope.$Properties[] = [];
  private readonly server = createServer({ security: insecureLoopback() });
  private readonly gatewayStreams = new Map<string, grpc.ClientDuplexStream<PushBatch, PushAck>>();
  /** PushBatches written to gateways, and how many of them the gateways acknowledged. */
  pushBatchesSent = 0;
  pushBatchesAcked = 0;
  /** While true, Deliver batches are kept unanswered (no `received`, no report) until releaseHeld(). */
  holdDeliveries = false;
  private readonly heldDeliveries: Array<() => void> = [];
  private registration: Registration | undefined;
  private gateways: ServiceWatch | undefined;

  constructor(readonly id: string) {
    this.server.addService(RouteService, {
      LoginStream: this.sessionStream((ref) => {
        this.sessions.set(`${ref.gatewayId}/${ref.connId}`, ref);
      }).handle,
      LogoutStream: this.sessionStream((ref) => {
        this.sessions.delete(`${ref.gatewayId}/${ref.connId}`);
        this.logouts.push(ref);
      }).handle,
      Deliver: (call: grpc.ServerDuplexStream<EnvelopeBatch, DeliverReport>) => {
        call.on('data', (batch: EnvelopeBatch) => {
          const handle = (): void => {
            // As route does: `received` at once, the report of what the batch became after.
            call.write(tiertalk.DeliverReport.create({ envelopes: 0, pushes: 0, received: batch.items.length }));
            let pushes = 0;
            for (const env of batch.items) {
              this.envelopes.push(env);
              pushes += this.deliverOne(env);
            }
            call.write(tiertalk.DeliverReport.create({ envelopes: batch.items.length, pushes }));
          };
          if (this.holdDeliveries) this.heldDeliveries.push(handle);
          else handle();
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
      UsersStat: (_call: grpc.ServerUnaryCall<UsersStatReq, UsersStatRsp>, cb: grpc.sendUnaryData<UsersStatRsp>) => {
        cb(null, IM.Buddy.IMUsersStatRsp.create({ userId: 0, userStatList: [] }));
      },
    });
  }

  private sessionStream(apply: (ref: SessionRef) => void): BatchedCallService<SessionBatch, SessionResults, tiertalk.SessionItem.$Properties, tiertalk.SessionResult.$Properties> {
    return new BatchedCallService(
      {
        itemsOf: (batch: SessionBatch) => batch.items,
        run: async (item: tiertalk.SessionItem.$Properties) => {
          apply(tiertalk.SessionRef.create(item.session));
          return { ref: item.ref, kicked: 0 };
        },
        failed: (item: tiertalk.SessionItem.$Properties) => ({ ref: item.ref, error: 'failed' }),
        batchOf: (items: tiertalk.SessionResult.$Properties[]) => tiertalk.SessionResults.create({ items }),
      },
      { maxInFlight: 1000, logger: log },
    );
  }

  /** Answers the Deliver batches kept while holdDeliveries was on, and stops keeping them. */
  releaseHeld(): void {
    this.holdDeliveries = false;
    for (const handle of this.heldDeliveries.splice(0)) handle();
  }

  async start(registry: Registry): Promise<void> {
    const port = await bindServer(this.server, '127.0.0.1', 0);
    this.gateways = await registry.watch('msg');
    this.registration = await registry.register({ id: this.id, service: 'route', addr: `127.0.0.1:${port}`, load: 0, meta: {} });
  }

  sessionOf(userId: number, clientType: number): SessionRef | undefined {
    return [...this.sessions.values()].find((s) => s.userId === userId && s.clientType === clientType);
  }

  /** One Push per gateway holding a receiver, never to the origin connection. */
  private deliverOne(env: tiertalk.Envelope.$Properties): number {
    const byGateway = new Map<string, number[]>();
    for (const s of this.sessions.values()) {
      if (!(env.toUserIds ?? []).includes(s.userId)) continue;
      const list = byGateway.get(s.gatewayId) ?? [];
      if (!list.includes(s.userId)) list.push(s.userId);
      byGateway.set(s.gatewayId, list);
    }
    for (const [gw, toUserIds] of byGateway) {
      const { kind, msgId, fromUserId, toSessionId, fromClientClass } = env;
      const push: tiertalk.Push.$Properties = { commandId: env.commandId, body: env.body, toUserIds, kind, msgId, fromUserId, toSessionId, fromClientClass };
      if (gw === env.originGatewayId) push.originConnId = env.originConnId;
      this.push(gw, [push]);
    }
    return byGateway.size;
  }

  push(gatewayId: string, items: tiertalk.Push.$Properties[]): void {
    let stream = this.gatewayStreams.get(gatewayId);
    if (!stream) {
      const info = this.gateways?.get(gatewayId.split('@')[0]);
      if (!info) return;
      const opened = openBidi(createClient(info.addr, insecureLoopback(), 'test'), GatewayService.Push);
      opened.on('data', (ack: PushAck) => {
        this.pushBatchesAcked += ack.batches;
      });
      opened.on('error', () => this.gatewayStreams.delete(gatewayId));
      opened.on('end', () => this.gatewayStreams.delete(gatewayId));
      stream = opened;
      this.gatewayStreams.set(gatewayId, stream);
    }
    this.pushBatchesSent += 1;
    stream.write(tiertalk.PushBatch.create({ items }));
  }

  async stop(): Promise<void> {
    for (const s of this.gatewayStreams.values()) s.end();
    this.server.forceShutdown();
    await this.registration?.deregister();
  }
}

// ---- TeamTalk-framed test client ----------------------------------------------------

class TtClient {
  readonly frames: Frame[] = [];
  closed = false;
  private readonly reader = new FrameReader();
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.frames.push(...this.reader.push(c));
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<TtClient> {
    const s = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve);
      s.once('error', reject);
    });
    const c = new TtClient(s);
    clients.push(c);
    return c;
  }

  send(cid: number, seq: number, body: Uint8Array): void {
    this.socket.write(encodeFrame(serviceIdOf(cid), cid, seq, body));
  }

  /** Next received frame with this command id (taken out of the queue). */
  async next(cid: number, timeoutMs = 3000): Promise<Frame> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => f.commandId === cid);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.closed) throw new Error(`closed while waiting for 0x${cid.toString(16)}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no 0x${cid.toString(16)} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The first received frame with one of these command ids (arrival order), taken out of the queue. */
  async nextOf(cids: readonly number[], timeoutMs = 3000): Promise<Frame> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex((f) => cids.includes(f.commandId));
      if (i >= 0) return this.frames.splice(i, 1)[0];
      if (this.closed) throw new Error('closed while waiting');
      const left = end - Date.now();
      if (left <= 0) throw new Error(`none of ${cids.join(',')} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /**
   * Absence without a fixed wait: resolves once a frame passing `marker` is here (one
   * sent later by the same path as the unwanted frame, so ordered after it) and tells
   * whether no `cid` frame came before it. The marker stays queued.
   */
  async noneBefore(cid: number, marker: (f: Frame) => boolean, timeoutMs = 3000): Promise<boolean> {
    await until(() => this.frames.some(marker), timeoutMs);
    return !this.frames.slice(0, this.frames.findIndex(marker)).some((f) => f.commandId === cid);
  }

  /** True when no frame with this command id has arrived so far (after a marker proved the rest). */
  noneYet(cid: number): boolean {
    return !this.frames.some((f) => f.commandId === cid);
  }

  async waitClosed(timeoutMs = 3000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > end) throw new Error('connection not closed in time');
      await sleep(10);
    }
  }

  async login(name: string, password: string, clientType: number, seq = 1): Promise<IM.Login.IMLoginRes> {
    this.send(CID.CID_LOGIN_REQ_USERLOGIN, seq, IM.Login.IMLoginReq.encode({ userName: name, password, onlineStatus: 1, clientType, clientVersion: 'test' }).finish());
    const f = await this.next(CID.CID_LOGIN_RES_USERLOGIN);
    expect(f.seqNum).toBe(seq);
    return IM.Login.IMLoginRes.decode(f.body);
  }

  sendMsg(seq: number, from: number, to: number, text: string): void {
    const body = IM.Message.IMMsgData.encode({ fromUserId: from, toSessionId: to, msgId: 0, createTime: 1, msgType: 1, msgData: Buffer.from(text) }).finish();
    this.send(CID.CID_MSG_DATA, seq, body);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

const clients: TtClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

function gatewayConfig(etcdPrefix: string, id: string, extra: Record<string, string> = {}) {
  return loadMsgConfig({
    TT_ETCD_ENDPOINTS: ETCD,
    TT_ETCD_PREFIX: etcdPrefix,
    TT_LEASE_TTL_SEC: '2',
    TT_INSTANCE_ID: id,
    TT_LOG_LEVEL: 'silent',
    TT_LISTEN_HOST: '127.0.0.1',
    TT_TCP_PORT: '0',
    TT_WS_PORT: '0',
    TT_GRPC_PORT: '0',
    TT_DB_DEADLINE_MS: '1500',
    // In-process fakes speak plaintext on loopback; the mTLS path is test/e2e/mtls.e2e.test.ts.
    TT_GRPC_INSECURE: 'true',
    ...extra,
  });
}

/** Matches a pushed IMMsgData frame with this text. */
const textIs =
  (text: string) =>
  (f: Frame): boolean =>
    f.commandId === CID.CID_MSG_DATA && Buffer.from(IM.Message.IMMsgData.decode(f.body).msgData).toString() === text;

async function until(pred: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('msg gateway with fake db-proxy and route', () => {
  const etcdPrefix = prefix();
  let registry: Registry;
  let db1: FakeDbProxy;
  const dbs: FakeDbProxy[] = [];
  let route: FakeRoute;
  let gw: RunningGateway;
  let msgWatch: ServiceWatch;

  /**
   * Marker for absence of a route push: a read notify to `userId` on the same Push
   * stream, which the gateway applies in order; resolves with a matcher for its frame.
   */
  let markerMsgId = 0;
  const pushMarker = (userId: number): ((f: Frame) => boolean) => {
    const msgId = 900_000 + ++markerMsgId;
    const body = IM.Message.IMMsgDataReadNotify.encode({ userId: 4242, sessionId: userId, msgId, sessionType: 1 }).finish();
    route.push('gw-a', [{ commandId: CID.CID_MSG_READ_NOTIFY, body, toUserIds: [userId] }]);
    return (f) => f.commandId === CID.CID_MSG_READ_NOTIFY && IM.Message.IMMsgDataReadNotify.decode(f.body).msgId === msgId;
  };

  beforeAll(async () => {
    registry = await Registry.connect({ endpoints: [ETCD], prefix: etcdPrefix, leaseTtlSec: 2, logger: log });
    db1 = new FakeDbProxy('db-1');
    dbs.push(db1);
    await db1.start(registry);
    route = new FakeRoute('route-1');
    await route.start(registry);
    gw = await startGateway(gatewayConfig(etcdPrefix, 'gw-a'), log);
    msgWatch = await registry.watch('msg');
  });

  afterAll(async () => {
    await gw.stop('test end');
    await route.stop();
    for (const db of dbs) await db.kill();
    await registry.close();
  });

  it('logs in, echoes heartbeat, answers the time, and publishes the load', async () => {
    const c = await TtClient.connect(gw.tcpPort);
    c.send(CID.CID_OTHER_HEARTBEAT, 9, new Uint8Array(0));
    expect((await c.next(CID.CID_OTHER_HEARTBEAT)).seqNum).toBe(9);
    const res = await c.login('alice', 'pw-a', PC, 3);
    expect(res.resultCode).toBe(0);
    expect(res.onlineStatus).toBe(1);
    expect(res.userInfo?.userId).toBe(1001);
    expect(res.userInfo?.status).toBe(0);
    expect(Math.abs(res.serverTime - Date.now() / 1000)).toBeLessThan(5);
    c.send(CID.CID_MSG_TIME_REQUEST, 4, new Uint8Array(0));
    const t = await c.next(CID.CID_MSG_TIME_RESPONSE);
    expect(t.seqNum).toBe(4);
    expect(IM.Message.IMClientTimeRsp.decode(t.body).serverTime).toBeGreaterThan(0);
    await until(() => msgWatch.get('gw-a')?.load === 1);
    const info = msgWatch.get('gw-a');
    expect(info?.meta).toMatchObject({ ip1: '127.0.0.1', ip2: '127.0.0.1', port: gw.tcpPort, wsPort: gw.wsPort, maxConn: 100000, curConn: 1 });
    expect(route.sessionOf(1001, PC)).toBeDefined();

    // A second login on the same connection is ignored.
    c.send(CID.CID_LOGIN_REQ_USERLOGIN, 5, IM.Login.IMLoginReq.encode({ userName: 'bob', password: 'pw-b', onlineStatus: 1, clientType: PC }).finish());
    // (Checked once the server closed the connection below: nothing can arrive after that.)

    // Logout: reply with seq, close, route and load updated.
    c.send(CID.CID_LOGIN_REQ_LOGINOUT, 6, new Uint8Array(0));
    const out = await c.next(CID.CID_LOGIN_RES_LOGINOUT);
    expect(out.seqNum).toBe(6);
    expect(IM.Login.IMLogoutRsp.decode(out.body).resultCode).toBe(0);
    await c.waitClosed();
    expect(c.frames.filter((f) => f.commandId === CID.CID_LOGIN_RES_USERLOGIN)).toEqual([]);
    await until(() => route.sessionOf(1001, PC) === undefined && msgWatch.get('gw-a')?.load === 0);
  });

  it('refuses a wrong password with result 6 and closes', async () => {
    const c = await TtClient.connect(gw.tcpPort);
    const res = await c.login('alice', 'nope', PC);
    expect(res.resultCode).toBe(6);
    expect(res.resultString).toBe('bad credentials');
    await c.waitClosed();
  });

  it('delivers a 1:1 message: ACK to the sender, push to the peer and the sender\'s other devices', async () => {
    const alicePc = await TtClient.connect(gw.tcpPort);
    const aliceMobile = await TtClient.connect(gw.tcpPort);
    const bob = await TtClient.connect(gw.tcpPort);
    expect((await alicePc.login('alice', 'pw-a', PC)).resultCode).toBe(0);
    expect((await aliceMobile.login('alice', 'pw-a', MOBILE)).resultCode).toBe(0);
    expect((await bob.login('bob', 'pw-b', PC)).resultCode).toBe(0);

    // Client-sent from_user_id and create_time are replaced by the server.
    alicePc.sendMsg(33, 999, 1002, 'hello bob');
    const ackFrame = await alicePc.next(CID.CID_MSG_DATA_ACK);
    expect(ackFrame.seqNum).toBe(33);
    const ack = IM.Message.IMMsgDataAck.decode(ackFrame.body);
    expect(ack).toMatchObject({ userId: 1001, sessionId: 1002, sessionType: 1 });
    expect(ack.msgId).toBeGreaterThan(0);

    for (const receiver of [bob, aliceMobile]) {
      const f = await receiver.next(CID.CID_MSG_DATA);
      expect(f.seqNum).toBe(0);
      const m = IM.Message.IMMsgData.decode(f.body);
      expect(m).toMatchObject({ fromUserId: 1001, toSessionId: 1002, msgId: ack.msgId, msgType: 1 });
      expect(Buffer.from(m.msgData).toString()).toBe('hello bob');
      expect(Math.abs(m.createTime - Date.now() / 1000)).toBeLessThan(5);
      expect(Object.hasOwn(m, 'attachData')).toBe(false);
    }
    expect(db1.stored.at(-1)).toMatchObject({ fromUserId: 1001, toSessionId: 1002 });
    // The envelope says what it is beside the body: route and the receiving gateway read these, not the body.
    expect(route.envelopes.filter((e) => e.commandId === CID.CID_MSG_DATA).at(-1)).toMatchObject({
      kind: tiertalk.MessageKind.MESSAGE_KIND_SINGLE,
      msgId: ack.msgId,
      fromUserId: 1001,
      toSessionId: 1002,
      toUserIds: [1002, 1001],
      // The sending connection's class (isMobileClient of its client type), for the push paths.
      fromClientClass: tiertalk.ClientClass.CLIENT_CLASS_PC,
    });

    // Sent from the phone: the envelope says so; the peer and the sender's PC get the stored
    // message exactly as before (the class rides on the Push, never in what is written).
    // It is also the marker for alicePc: a later message by the same route push path, so her
    // own 'hello bob' would have come before it.
    aliceMobile.sendMsg(34, 1001, 1002, 'from my phone');
    const phoneAck = IM.Message.IMMsgDataAck.decode((await aliceMobile.next(CID.CID_MSG_DATA_ACK)).body);
    const fromPhone = route.envelopes.filter((e) => e.commandId === CID.CID_MSG_DATA).at(-1);
    expect(fromPhone).toMatchObject({ msgId: phoneAck.msgId, fromUserId: 1001, fromClientClass: tiertalk.ClientClass.CLIENT_CLASS_MOBILE });
    expect(await alicePc.noneBefore(CID.CID_MSG_DATA, textIs('from my phone'))).toBe(true);
    for (const receiver of [bob, alicePc]) {
      const f = await receiver.next(CID.CID_MSG_DATA);
      expect(Buffer.from(f.body)).toEqual(Buffer.from(fromPhone?.body ?? []));
      expect(IM.Message.IMMsgData.decode(f.body)).toMatchObject({ fromUserId: 1001, msgId: phoneAck.msgId });
    }
    // Marker: the phone's heartbeat is answered after the push that would have echoed its message (same connection).
    aliceMobile.send(CID.CID_OTHER_HEARTBEAT, 35, new Uint8Array(0));
    expect(await aliceMobile.noneBefore(CID.CID_MSG_DATA, (f) => f.commandId === CID.CID_OTHER_HEARTBEAT)).toBe(true);

    // The receiver's ack produces no reply.
    bob.send(CID.CID_MSG_DATA_ACK, 7, IM.Message.IMMsgDataAck.encode({ userId: 1002, sessionId: 1001, msgId: ack.msgId, sessionType: 1 }).finish());
    // Marker: a heartbeat after it; the gateway answers a connection's frames in order, neither needs another tier.
    bob.send(CID.CID_OTHER_HEARTBEAT, 8, new Uint8Array(0));
    expect(await bob.noneBefore(CID.CID_MSG_DATA_ACK, (f) => f.commandId === CID.CID_OTHER_HEARTBEAT)).toBe(true);

    // Dropped silently: empty, to self. Refused with msg_id 0: rejected by the store.
    alicePc.sendMsg(40, 1001, 1002, '');
    alicePc.sendMsg(41, 1001, 1001, 'me');
    alicePc.sendMsg(42, 1001, 1002, 'REJECT');
    const refusal = await alicePc.next(CID.CID_MSG_DATA_ACK);
    expect(refusal.seqNum).toBe(42);
    expect(IM.Message.IMMsgDataAck.decode(refusal.body)).toMatchObject({ userId: 1001, sessionId: 1002, msgId: 0, sessionType: 1 });
    // Marker: a later message on the same connection, acknowledged and delivered after the dropped ones would have been.
    alicePc.sendMsg(43, 1001, 1002, 'marker 2');
    expect(await alicePc.noneBefore(CID.CID_MSG_DATA_ACK, (f) => f.commandId === CID.CID_MSG_DATA_ACK && f.seqNum === 43)).toBe(true);
    expect(await bob.noneBefore(CID.CID_MSG_DATA, textIs('marker 2'))).toBe(true);
    expect(alicePc.closed).toBe(false);
  });

  it('ACKs a stored message only once a route has received its envelope', async () => {
    const alice = await TtClient.connect(gw.tcpPort);
    expect((await alice.login('alice', 'pw-a', PC)).resultCode).toBe(0);
    route.holdDeliveries = true;
    try {
      alice.sendMsg(51, 1001, 1002, 'held by route first');
      // The message is stored at once; the heartbeat answer is the marker: no ACK may come before it.
      await waitFor(() => db1.stored.some((m) => Buffer.from(m.msgData).toString() === 'held by route first'), 5000);
      alice.send(CID.CID_OTHER_HEARTBEAT, 52, new Uint8Array(0));
      const next = await alice.nextOf([CID.CID_MSG_DATA_ACK, CID.CID_OTHER_HEARTBEAT]);
      expect(next.commandId).toBe(CID.CID_OTHER_HEARTBEAT);
    } finally {
      route.releaseHeld();
    }
    const ack = await alice.next(CID.CID_MSG_DATA_ACK);
    expect(ack.seqNum).toBe(51);
    expect(IM.Message.IMMsgDataAck.decode(ack.body).msgId).toBeGreaterThan(0);
  });

  it('answers IMMsgData beyond 20 per second on one connection with msg_id 0 and stores none of them', async () => {
    const c = await TtClient.connect(gw.tcpPort);
    expect((await c.login('carol', 'pw-c', PC)).resultCode).toBe(0);
    // Start early in a wall-clock second so the burst stays in one window.
    while (Date.now() % 1000 > 300) await sleep(20);
    for (let i = 0; i < 25; i += 1) c.sendMsg(100 + i, 1003, 1002, `m${i}`);
    await until(() => c.frames.filter((f) => f.commandId === CID.CID_MSG_DATA_ACK).length === 25);
    const acks = c.frames
      .filter((f) => f.commandId === CID.CID_MSG_DATA_ACK)
      .map((f) => ({ seq: f.seqNum, ...IM.Message.IMMsgDataAck.decode(f.body) }))
      .sort((a, b) => a.seq - b.seq);
    expect(acks.map((a) => a.seq)).toEqual(Array.from({ length: 25 }, (_, i) => 100 + i));
    expect(acks.slice(0, 20).every((a) => a.msgId > 0)).toBe(true);
    // docs/FLOWS.md §3: the excess is refused with TeamTalk's "not stored" id, never silently.
    expect(acks.slice(20).map((a) => [a.msgId, a.userId, a.sessionId, a.sessionType])).toEqual(Array.from({ length: 5 }, () => [0, 1003, 1002, 1]));
    const storedTexts = db1.stored.filter((m) => m.fromUserId === 1003).map((m) => Buffer.from(m.msgData).toString());
    expect(storedTexts).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
  });

  it('drops the excess silently, as TeamTalk does, when TT_RATE_LIMIT_ANSWER=silent', async () => {
    const quiet = await startGateway(gatewayConfig(etcdPrefix, 'gw-quiet', { TT_RATE_LIMIT_ANSWER: 'silent', TT_MSG_RATE_PER_SEC: '3' }), log);
    try {
      const c = await TtClient.connect(quiet.tcpPort);
      expect((await c.login('dave', 'pw-d', PC)).resultCode).toBe(0);
      while (Date.now() % 1000 > 300) await sleep(20);
      const burstSecond = Math.floor(Date.now() / 1000);
      for (let i = 0; i < 6; i += 1) c.sendMsg(200 + i, 1004, 1002, `q${i}`);
      // Marker: a message in the next window, on the same connection, is answered after any answer to these.
      await until(() => Math.floor(Date.now() / 1000) > burstSecond, 2000);
      c.sendMsg(299, 1004, 1002, 'window marker');
      await until(() => c.frames.some((f) => f.commandId === CID.CID_MSG_DATA_ACK && f.seqNum === 299));
      const acks = c.frames.filter((f) => f.commandId === CID.CID_MSG_DATA_ACK && f.seqNum !== 299).map((f) => IM.Message.IMMsgDataAck.decode(f.body));
      expect(acks).toHaveLength(3);
      expect(acks.every((a) => a.msgId > 0)).toBe(true);
      const storedTexts = db1.stored.map((m) => Buffer.from(m.msgData).toString()).filter((t) => /^q\d$/.test(t));
      expect(storedTexts).toEqual(['q0', 'q1', 'q2']);

      // A message the store rejects gets no answer either; the later marker's ACK proves it.
      while (Date.now() % 1000 > 300) await sleep(20);
      c.frames.length = 0;
      c.sendMsg(300, 1004, 1002, 'REJECT');
      c.sendMsg(301, 1004, 1002, 'marker');
      const marker = await c.next(CID.CID_MSG_DATA_ACK);
      expect(marker.seqNum).toBe(301);
      expect(c.frames.some((f) => f.commandId === CID.CID_MSG_DATA_ACK)).toBe(false);
    } finally {
      await quiet.stop('test end');
    }
  });

  it('broadcasts an all_users push to every logged-in connection of its client class, the frame once per push', async () => {
    const pc = await TtClient.connect(gw.tcpPort);
    const phone = await TtClient.connect(gw.tcpPort);
    const anonymous = await TtClient.connect(gw.tcpPort);
    expect((await pc.login('alice', 'pw-a', PC)).resultCode).toBe(0);
    expect((await phone.login('bob', 'pw-b', MOBILE)).resultCode).toBe(0);
    // docs/FLOWS.md §5: a PC login hears its own ONLINE from its gateway, after the login response.
    const own = await pc.next(CID.CID_BUDDY_LIST_STATUS_NOTIFY);
    expect(IM.Buddy.IMUserStatNotify.decode(own.body).userStat).toMatchObject({ userId: 1001, status: 1 });
    const status = IM.Buddy.IMUserStatNotify.encode({ userStat: { userId: 1003, status: 1 } }).finish();
    route.push('gw-a', [{ commandId: CID.CID_BUDDY_LIST_STATUS_NOTIFY, body: status, allUsers: true, clientClass: 1 }]);
    const got = await pc.next(CID.CID_BUDDY_LIST_STATUS_NOTIFY);
    expect(got.seqNum).toBe(0);
    expect(IM.Buddy.IMUserStatNotify.decode(got.body).userStat).toMatchObject({ userId: 1003, status: 1 });
    expect(await phone.noneBefore(CID.CID_BUDDY_LIST_STATUS_NOTIFY, pushMarker(1002))).toBe(true);
    // (Not logged in: no marker can reach it either; checked after the phone's marker came.)
    expect(anonymous.noneYet(CID.CID_BUDDY_LIST_STATUS_NOTIFY)).toBe(true);

    const sign = IM.Buddy.IMSignInfoChangedNotify.encode({ changedUserId: 1001, signInfo: 'new' }).finish();
    const pcRef = route.sessionOf(1001, PC);
    route.push('gw-a', [{ commandId: CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, body: sign, allUsers: true, originConnId: pcRef?.connId }]);
    expect(IM.Buddy.IMSignInfoChangedNotify.decode((await phone.next(CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY)).body).signInfo).toBe('new');
    expect(await pc.noneBefore(CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, pushMarker(1001))).toBe(true);

    // user-addressed pushes honour the class too; an unknown class is skipped
    const pcLogin = IM.Buddy.IMPCLoginStatusNotify.encode({ userId: 1002, loginStat: 1 }).finish();
    route.push('gw-a', [{ commandId: CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY, body: pcLogin, toUserIds: [1002], clientClass: 7 }]);
    route.push('gw-a', [{ commandId: CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY, body: pcLogin, toUserIds: [1001, 1002], clientClass: 2 }]);
    expect((await phone.next(CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY)).seqNum).toBe(0);
    expect(await phone.noneBefore(CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY, pushMarker(1002))).toBe(true);
    expect(await pc.noneBefore(CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY, pushMarker(1001))).toBe(true);
  });

  it('acknowledges every PushBatch it applied (cumulative PushAck counts)', async () => {
    const before = { sent: route.pushBatchesSent, acked: route.pushBatchesAcked };
    const notify = IM.Buddy.IMPCLoginStatusNotify.encode({ userId: 1002, loginStat: 1 }).finish();
    for (let i = 0; i < 20; i++) route.push('gw-a', [{ commandId: CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY, body: notify, toUserIds: [4242] }]);
    await until(() => route.pushBatchesAcked - before.acked >= 20);
    expect(route.pushBatchesSent - before.sent).toBe(20);
    expect(route.pushBatchesAcked - before.acked).toBe(20);
  });

  it('a new same-class login kicks the older connection; the other class is untouched', async () => {
    const old = await TtClient.connect(gw.tcpPort);
    const mobile = await TtClient.connect(gw.tcpPort);
    expect((await old.login('carol', 'pw-c', PC)).resultCode).toBe(0);
    expect((await mobile.login('carol', 'pw-c', MOBILE)).resultCode).toBe(0);
    const oldRef = route.sessionOf(1003, PC);
    const fresh = await TtClient.connect(gw.tcpPort);
    expect((await fresh.login('carol', 'pw-c', PC)).resultCode).toBe(0);
    const kick = IM.Login.IMKickUser.decode((await old.next(CID.CID_LOGIN_KICK_USER)).body);
    expect(kick).toMatchObject({ userId: 1003, kickReason: 1 });
    await old.waitClosed();
    await until(() => route.logouts.some((r) => r.connId === oldRef?.connId));
    expect(mobile.closed).toBe(false);
    // The gateway kicks its own same-class connections in one pass before registering the login: a kick of the mobile would have come with the old one's.
    expect(mobile.noneYet(CID.CID_LOGIN_KICK_USER)).toBe(true);
  });

  it('kicks a connection named by route (CID_OTHER_SERVER_KICK_USER push)', async () => {
    const c = await TtClient.connect(gw.tcpPort);
    expect((await c.login('bob', 'pw-b', MOBILE)).resultCode).toBe(0);
    const ref = route.sessionOf(1002, MOBILE);
    expect(ref).toBeDefined();
    // A push naming a connection of another user is ignored.
    const wrong = IM.Server.IMServerKickUser.encode({ userId: 4242, clientType: MOBILE, reason: 1 }).finish();
    route.push('gw-a', [{ commandId: CID.CID_OTHER_SERVER_KICK_USER, body: wrong, connIds: [ref?.connId ?? 0] }]);
    expect(await c.noneBefore(CID.CID_LOGIN_KICK_USER, pushMarker(1002))).toBe(true);
    const body = IM.Server.IMServerKickUser.encode({ userId: 1002, clientType: MOBILE, reason: 1 }).finish();
    route.push('gw-a', [{ commandId: CID.CID_OTHER_SERVER_KICK_USER, body, connIds: [ref?.connId ?? 0] }]);
    const kick = IM.Login.IMKickUser.decode((await c.next(CID.CID_LOGIN_KICK_USER)).body);
    expect(kick).toMatchObject({ userId: 1002, kickReason: 1 });
    await c.waitClosed();
  });

  it('sends new batches elsewhere when db-proxy says stop; items of a dead stream wait for an instance and are stored there', async () => {
    const db2 = new FakeDbProxy('db-2');
    dbs.push(db2);
    await db2.start(registry);
    const a = await TtClient.connect(gw.tcpPort);
    expect((await a.login('alice', 'pw-a', PC)).resultCode).toBe(0);
    a.sendMsg(1, 1001, 1002, 'before stop');
    await a.next(CID.CID_MSG_DATA_ACK);
    const first = db1.stored.some((m) => Buffer.from(m.msgData).toString() === 'before stop') ? db1 : db2;
    const other = first === db1 ? db2 : db1;
    first.sendStop();
    await sleep(100);
    a.sendMsg(2, 1001, 1002, 'after stop');
    await a.next(CID.CID_MSG_DATA_ACK);
    expect(other.stored.some((m) => Buffer.from(m.msgData).toString() === 'after stop')).toBe(true);

    // The stream to `other` dies with the item in flight and the only other
    // instance is stopping: the item waits, and is stored once by the next instance.
    other.hang = true;
    a.sendMsg(3, 1001, 1002, 'waits');
    await until(() => other.received.includes('waits'));
    await other.kill();
    await first.kill();
    const db3 = new FakeDbProxy('db-3');
    dbs.push(db3);
    await db3.start(registry);
    const ack = await a.next(CID.CID_MSG_DATA_ACK, 5000);
    expect(ack.seqNum).toBe(3);
    expect(IM.Message.IMMsgDataAck.decode(ack.body).msgId).toBeGreaterThan(0);
    const everywhere = dbs.flatMap((db) => db.stored).filter((m) => Buffer.from(m.msgData).toString() === 'waits');
    expect(everywhere).toHaveLength(1);
    expect(db3.stored.some((m) => Buffer.from(m.msgData).toString() === 'waits')).toBe(true);
  });

  it('on stop: deregisters, lets in-flight ACKs out, then closes clients', async () => {
    const c = await TtClient.connect(gw.tcpPort);
    expect((await c.login('alice', 'pw-a', PC)).resultCode).toBe(0);
    // The previous test replaced both db-proxy instances: wait until a batch is stored again.
    await until(async () => {
      c.sendMsg(50, 1001, 1002, 'probe');
      return c.next(CID.CID_MSG_DATA_ACK, 1000).then(
        () => true,
        () => false,
      );
    }, 8000);
    for (const db of dbs) db.delayMs = 400;
    c.sendMsg(51, 1001, 1002, 'in flight at shutdown');
    await until(() => dbs.some((db) => db.received.includes('in flight at shutdown')));
    const stopping = gw.stop('test');
    const ack = await c.next(CID.CID_MSG_DATA_ACK, 3000);
    expect(ack.seqNum).toBe(51);
    await c.waitClosed();
    await stopping;
    await until(() => msgWatch.get('gw-a') === undefined);
  });
});

describe('msg gateway without backends', () => {
  it('answers result 3 at once when no db-proxy is live, 5 when no route is', async () => {
    const etcdPrefix = prefix();
    const registry = await Registry.connect({ endpoints: [ETCD], prefix: etcdPrefix, leaseTtlSec: 2, logger: log });
    const gw = await startGateway(gatewayConfig(etcdPrefix, 'gw-empty'), log);
    const db = new FakeDbProxy('db-x');
    try {
      const c = await TtClient.connect(gw.tcpPort);
      const started = Date.now();
      expect((await c.login('alice', 'pw-a', PC)).resultCode).toBe(3);
      expect(Date.now() - started).toBeLessThan(1000);
      await c.waitClosed();

      await db.start(registry);
      const c2 = await TtClient.connect(gw.tcpPort);
      await until(async () => {
        const probe = await TtClient.connect(gw.tcpPort);
        return (await probe.login('alice', 'pw-a', PC)).resultCode === 5;
      });
      expect((await c2.login('alice', 'pw-a', PC)).resultCode).toBe(5);
      await c2.waitClosed();
    } finally {
      await gw.stop('test end');
      await db.kill();
      await registry.close();
    }
  });
});
