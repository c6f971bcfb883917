import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import Redis from 'ioredis';
import { createLogger, type Logger } from '@tiertalk/log';
import {
  CID,
  GatewayService,
  IM,
  RouteService,
  tiertalk,
  type DeliverReport,
  type EnvelopeBatch,
  type PushAck,
  type PushBatch,
} from '@tiertalk/proto';
import { Registry, type Registration } from '@tiertalk/registry';
import { bindServer, createClient, createServer, errorCodeOf, openBidi, unaryCall, insecureLoopback } from '@tiertalk/rpc';
import { GatewayLinks } from './gateway-links';
import { routeHandlers } from './handlers';
import { deliverBatch } from './handlers/message/deliver';
import type { RouteDeps } from './handlers/types';
import { MAX_USERS_STAT_IDS } from './handlers/user/users-stat';
import { SessionStore } from './session-store';
import { redisDbsForFile } from '@tiertalk/testkit';

// In-process route (its gRPC server module, real Redis in a db claimed for this file, real etcd) and
// two small Gateway.Push peers registered in etcd as `msg` instances.
// A db of the test Redis claimed for this file, so no other test file or run shares it.
const redisDb = redisDbsForFile({ beforeAll, afterAll });
const ETCD = (process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379').split(',');
const { CLIENT_TYPE_WINDOWS, CLIENT_TYPE_MAC, CLIENT_TYPE_ANDROID, CLIENT_TYPE_IOS } = IM.BaseDefine.ClientType;
const { USER_STATUS_ONLINE, USER_STATUS_OFFLINE } = IM.BaseDefine.UserStatType;
const DEADLINE = { deadlineMs: 3000 };
const { MESSAGE_KIND_SINGLE, MESSAGE_KIND_GROUP } = tiertalk.MessageKind;

/** A stored message's envelope as the sender's gateway makes it: the IMMsgData body, its kind and ids beside it. */
function messageEnvelope(kind: tiertalk.MessageKind, msgType: IM.BaseDefine.MsgType, from: number, to: number, msgId: number): tiertalk.Envelope.$Properties {
  const body = IM.Message.IMMsgData.encode({ fromUserId: from, toSessionId: to, msgId, createTime: 1, msgType, msgData: Buffer.from('hi') }).finish();
  return { commandId: CID.CID_MSG_DATA, body, kind, msgId, fromUserId: from, toSessionId: to };
}
const singleMsg = (from: number, to: number, msgId: number): tiertalk.Envelope.$Properties =>
  messageEnvelope(MESSAGE_KIND_SINGLE, IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT, from, to, msgId);
const groupMsg = (from: number, group: number, msgId: number): tiertalk.Envelope.$Properties =>
  messageEnvelope(MESSAGE_KIND_GROUP, IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT, from, group, msgId);

async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

// Presence pushes (docs/FLOWS.md §5) follow every login and logout; they are kept
// apart so the delivery and kick tests see only what they are about.
const PRESENCE_COMMANDS: ReadonlySet<number> = new Set([CID.CID_BUDDY_LIST_STATUS_NOTIFY, CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY]);

/** A msg gateway's Gateway.Push end, recording what route sends it and acknowledging it (unless told to hold). */
class TestGateway {
  readonly batches: PushBatch[] = [];
  readonly presence: tiertalk.Push.$Properties[] = [];
  /** Push streams route opened to us. */
  streams = 0;
  /** While true, batches are recorded but not acknowledged. */
  holdAcks = false;
  private heldAcks = 0;
  private call: grpc.ServerDuplexStream<PushBatch, PushAck> | undefined;
  private server: grpc.Server | undefined;
  port = 0;
  registration: Registration | undefined;

  constructor(readonly id: string) {}

  async start(registry: Registry, port = 0): Promise<void> {
    const server = createServer({ security: insecureLoopback() });
    const Push: grpc.handleBidiStreamingCall<PushBatch, PushAck> = (call) => {
      this.streams += 1;
      this.call = call;
      this.heldAcks = 0;
      call.on('data', (b: PushBatch) => {
        const other = b.items.filter((item) => !PRESENCE_COMMANDS.has(item.commandId));
        this.presence.push(...b.items.filter((item) => PRESENCE_COMMANDS.has(item.commandId)));
        if (other.length > 0) this.batches.push(tiertalk.PushBatch.create({ items: other }));
        if (this.holdAcks) this.heldAcks += 1;
        else call.write(tiertalk.PushAck.create({ batches: 1 }));
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    };
    server.addService(GatewayService, { Push });
    this.port = await bindServer(server, '127.0.0.1', port);
    this.server = server;
    this.registration ??= await registry.register({ id: this.id, service: 'msg', addr: `127.0.0.1:${this.port}`, load: 0, meta: {} });
  }

  /** Acknowledges everything held, in one cumulative PushAck, and acknowledges at once from now on. */
  releaseAcks(): void {
    this.holdAcks = false;
    if (this.heldAcks > 0) this.call?.write(tiertalk.PushAck.create({ batches: this.heldAcks }));
    this.heldAcks = 0;
  }

  /** Fails the current Push stream (as a broken link would), unacknowledged batches lost. */
  breakStream(): void {
    this.call?.emit('error', Object.assign(new Error('link cut'), { code: grpc.status.UNAVAILABLE }));
    this.call = undefined;
  }

  stopServer(): void {
    this.server?.forceShutdown();
    this.server = undefined;
  }

  pushes(): tiertalk.Push.$Properties[] {
    return this.batches.flatMap((b) => b.items);
  }

  clear(): void {
    this.batches.length = 0;
    this.presence.length = 0;
  }
}

describe('route service (in-process, real Redis and etcd)', () => {
  let logger: Logger;
  let redis: Redis;
  let keyPrefix: string;
  let store: SessionStore;
  let registry: Registry;
  let links: GatewayLinks;
  let server: grpc.Server;
  let client: grpc.Client;
  let gwA: TestGateway;
  let gwB: TestGateway;
  let etcdPrefix: string;

  /** One session change on its own stream (LoginStream, LogoutStream): the reply's kick count, or its error as a rejection. */
  const onStream = (method: typeof RouteService.LoginStream, session: tiertalk.SessionRef.$Properties) =>
    new Promise<{ kicked: number }>((resolve, reject) => {
      const call = openBidi(client, method);
      call.on('data', (batch: tiertalk.SessionResults) => {
        const r = batch.items.find((i) => i.ref === 7);
        if (!r) return;
        call.end();
        if (r.error) reject(new Error(r.error));
        else resolve({ kicked: r.kicked ?? 0 });
      });
      call.on('error', reject);
      call.write(tiertalk.SessionBatch.create({ items: [{ ref: 7, session }] }));
    });
  const login = (gatewayId: string, connId: number, userId: number, clientType: IM.BaseDefine.ClientType) =>
    onStream(RouteService.LoginStream, { gatewayId, connId, userId, clientType });
  const logoutRef = (ref: tiertalk.SessionRef.$Properties) => onStream(RouteService.LogoutStream, ref);

  /**
   * Absence without a fixed wait: makes route push a marker kick to `gw` (KickUser of a
   * session there) and returns what `gw` received before it. Route writes a gateway's
   * pushes in order on its one Push stream and flushes gathered presence before any other
   * push, so whatever route queued for `gw` before the marker is in what is returned.
   */
  let markerSeq = 0;
  async function receivedBeforeMarker(gw: TestGateway): Promise<{ batches: PushBatch[]; presence: tiertalk.Push.$Properties[] }> {
    const session = { gatewayId: gw.id, connId: 90_000 + ++markerSeq, userId: 90_000 + markerSeq, clientType: CLIENT_TYPE_WINDOWS };
    await store.login(session);
    const kick = IM.Server.IMServerKickUser.create({ userId: session.userId, clientType: CLIENT_TYPE_WINDOWS, reason: IM.BaseDefine.KickReasonType.KICK_REASON_MOBILE_KICK });
    await unaryCall(client, RouteService.KickUser, kick, DEADLINE);
    const isMarker = (b: PushBatch): boolean => b.items.some((i) => (i.connIds ?? []).includes(session.connId));
    await waitFor(() => gw.batches.some(isMarker), 3000, `the marker kick on ${gw.id}`);
    const presence = [...gw.presence];
    const at = gw.batches.findIndex(isMarker);
    const batches = gw.batches.slice(0, at);
    gw.batches.splice(at, 1);
    await store.logout(session);
    return { batches, presence };
  }

  beforeAll(async () => {
    logger = createLogger({ service: 'route-test', instanceId: 'route-test', level: (process.env.TT_TEST_LOG_LEVEL ?? 'silent') as 'silent' });
    redis = new Redis(redisDb.url, { maxRetriesPerRequest: 1 });
    keyPrefix = `tt:test:${randomBytes(5).toString('hex')}:`;
    store = new SessionStore(redis, keyPrefix);
    etcdPrefix = `/tiertalk-test-route-${randomBytes(5).toString('hex')}`;
    registry = await Registry.connect({ endpoints: ETCD, prefix: etcdPrefix, leaseTtlSec: 5, logger });

    gwA = new TestGateway('gw-a');
    gwB = new TestGateway('gw-b');
    await gwA.start(registry);
    await gwB.start(registry);

    links = new GatewayLinks({ registry, store, logger, security: insecureLoopback(), sweepIntervalMs: 150 });
    await links.start();
    server = createServer({ security: insecureLoopback() });
    server.addService(RouteService, routeHandlers({ store, links, logger }));
    const port = await bindServer(server, '127.0.0.1', 0);
    client = createClient(`127.0.0.1:${port}`, insecureLoopback(), 'test');
  });

  afterAll(async () => {
    client?.close();
    server?.forceShutdown();
    await links?.close();
    gwA?.stopServer();
    gwB?.stopServer();
    await gwA?.registration?.deregister();
    await gwB?.registration?.deregister();
    await registry?.close();
    if (redis) {
      await deleteKeys(redis, keyPrefix);
      await redis.quit();
    }
  });

  beforeEach(() => {
    gwA.clear();
    gwB.clear();
  });

  it('sees both gateways', () => {
    expect(links.isLive('gw-a')).toBe(true);
    expect(links.isLive('gw-b')).toBe(true);
  });

  describe('Deliver', () => {
    let stream: grpc.ClientDuplexStream<EnvelopeBatch, DeliverReport>;
    const reports: DeliverReport[] = [];

    beforeAll(async () => {
      await login('gw-a', 1, 100, CLIENT_TYPE_WINDOWS);
      await login('gw-a', 2, 300, CLIENT_TYPE_ANDROID);
      await login('gw-b', 5, 200, CLIENT_TYPE_MAC);
      await login('gw-b', 6, 300, CLIENT_TYPE_WINDOWS);
      stream = openBidi(client, RouteService.Deliver);
      stream.on('data', (r: DeliverReport) => {
        if (!r.received) reports.push(r); // `received` reports are checked on their own below
      });
      stream.on('error', () => undefined);
    });
    afterAll(() => {
      stream.end();
    });

    async function deliver(batch: tiertalk.EnvelopeBatch.$Properties): Promise<DeliverReport> {
      const before = reports.length;
      stream.write(tiertalk.EnvelopeBatch.create(batch));
      await waitFor(() => reports.length > before, 3000, 'a deliver report');
      return reports[before];
    }

    it('reaches only the gateway holding the receiver, excluding the origin connection there', async () => {
      const body = IM.Message.IMMsgData.encode({
        fromUserId: 100,
        toSessionId: 400,
        msgId: 7,
        createTime: 1,
        msgType: IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT,
        msgData: Buffer.from('hi'),
      }).finish();
      // user 400 is offline: only the sender's own sessions (gateway A) hear of it
      const report = await deliver({
        items: [{ ...singleMsg(100, 400, 7), body, toUserIds: [400, 100], originGatewayId: 'gw-a', originConnId: 1 }],
      });
      expect(report.envelopes).toBe(1);
      expect(report.pushes).toBe(1);
      await waitFor(() => gwA.batches.length === 1, 3000, 'gateway A push');
      const [push] = gwA.pushes();
      expect(push.commandId).toBe(CID.CID_MSG_DATA);
      expect(Buffer.from(push.body)).toEqual(Buffer.from(body));
      expect(push.toUserIds).toEqual([100]);
      expect(push.originConnId).toBe(1);
      // The envelope's message fields ride on, so the gateway need not decode the body.
      expect(push).toMatchObject({ kind: MESSAGE_KIND_SINGLE, msgId: 7, fromUserId: 100, toSessionId: 400 });
      // The report came only once every PushBatch made from the batch was acknowledged: nothing more is coming.
      expect(gwB.batches).toHaveLength(0);
    });

    it('writes one PushBatch per gateway per batch, origin_conn_id only on the origin gateway', async () => {
      const body1 = Buffer.from('first');
      const body2 = Buffer.from('second');
      const report = await deliver({
        items: [
          { commandId: CID.CID_MSG_DATA, body: body1, toUserIds: [200, 100], originGatewayId: 'gw-a', originConnId: 1 },
          { commandId: CID.CID_MSG_READ_NOTIFY, body: body2, toUserIds: [300, 300] },
        ],
      });
      expect(report).toMatchObject({ envelopes: 2, pushes: 4 });
      await waitFor(() => gwA.batches.length === 1 && gwB.batches.length === 1, 3000, 'one batch on each gateway');
      // (The report followed the gateways' acks of every PushBatch made from the batch.)
      expect(gwA.batches).toHaveLength(1);
      expect(gwB.batches).toHaveLength(1);

      const a = gwA.pushes();
      expect(a).toHaveLength(2);
      expect(a[0]).toMatchObject({ commandId: CID.CID_MSG_DATA, toUserIds: [100], originConnId: 1 });
      expect(Buffer.from(a[0].body).toString()).toBe('first');
      expect(a[1]).toMatchObject({ commandId: CID.CID_MSG_READ_NOTIFY, toUserIds: [300] });
      expect(Object.hasOwn(a[1], 'originConnId')).toBe(false);

      const b = gwB.pushes();
      expect(b).toHaveLength(2);
      expect(b[0]).toMatchObject({ commandId: CID.CID_MSG_DATA, toUserIds: [200] });
      expect(Object.hasOwn(b[0], 'originConnId')).toBe(false);
      expect(b[1]).toMatchObject({ commandId: CID.CID_MSG_READ_NOTIFY, toUserIds: [300] });
    });

    it('sends nothing for offline users, empty batches or envelopes without receivers', async () => {
      expect(await deliver({ items: [] })).toMatchObject({ envelopes: 0, pushes: 0 });
      expect(await deliver({ items: [{ commandId: CID.CID_MSG_DATA, body: Buffer.from('x'), toUserIds: [] }] })).toMatchObject({
        envelopes: 1,
        pushes: 0,
      });
      expect(
        await deliver({ items: [{ commandId: CID.CID_MSG_DATA, body: Buffer.from('x'), toUserIds: [999, 0], originGatewayId: 'gw-zz' }] }),
      ).toMatchObject({ envelopes: 1, pushes: 0 });
      // Each report followed the gateways' acks of every PushBatch made from its batch.
      expect(gwA.batches).toHaveLength(0);
      expect(gwB.batches).toHaveLength(0);
    });

    it('ignores sessions on gateways that are not live', async () => {
      await store.login({ gatewayId: 'gw-unknown', connId: 1, userId: 777, clientType: CLIENT_TYPE_WINDOWS });
      expect(await deliver({ items: [{ commandId: CID.CID_MSG_DATA, body: Buffer.from('x'), toUserIds: [777] }] })).toMatchObject({
        envelopes: 1,
        pushes: 0,
      });
      await store.logout({ gatewayId: 'gw-unknown', connId: 1, userId: 777 });
    });

    it('sends a broadcast envelope to every live gateway as all_users, with its client class, in the batch\'s one PushBatch', async () => {
      const sign = IM.Buddy.IMSignInfoChangedNotify.encode({ changedUserId: 100, signInfo: 'hello' }).finish();
      const report = await deliver({
        items: [
          { commandId: CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, body: sign, allUsers: true, toUserIds: [] },
          { commandId: CID.CID_MSG_DATA, body: Buffer.from('m'), toUserIds: [200] },
          { commandId: CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, body: sign, allUsers: true, clientClass: 2, originGatewayId: 'gw-a', originConnId: 1 },
        ],
      });
      expect(report).toMatchObject({ envelopes: 3, pushes: 5 });
      await waitFor(() => gwA.batches.length === 1 && gwB.batches.length === 1, 3000, 'one batch on each gateway');
      const a = gwA.pushes();
      expect(a).toHaveLength(2);
      expect(a[0]).toMatchObject({ commandId: CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, allUsers: true });
      expect(Object.hasOwn(a[0], 'clientClass')).toBe(false);
      expect(Object.hasOwn(a[0], 'originConnId')).toBe(false);
      expect(Buffer.from(a[0].body)).toEqual(Buffer.from(sign));
      expect(a[1]).toMatchObject({ allUsers: true, clientClass: 2, originConnId: 1 });
      const b = gwB.pushes();
      expect(b.map((p) => p.commandId)).toEqual([CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, CID.CID_MSG_DATA, CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY]);
      expect(b[1]).toMatchObject({ toUserIds: [200] });
      expect(b[2]).toMatchObject({ allUsers: true, clientClass: 2 });
      expect(Object.hasOwn(b[2], 'originConnId')).toBe(false);
    });

    it('passes a targeted envelope\'s client class on', async () => {
      await deliver({ items: [{ commandId: CID.CID_MSG_READ_NOTIFY, body: Buffer.from('r'), toUserIds: [300], clientClass: 1 }] });
      await waitFor(() => gwA.batches.length === 1 && gwB.batches.length === 1, 3000, 'a batch on each gateway');
      expect(gwA.pushes()[0]).toMatchObject({ toUserIds: [300], clientClass: 1 });
      expect(gwB.pushes()[0]).toMatchObject({ toUserIds: [300], clientClass: 1 });
    });
  });

  describe('Deliver classifies by the envelope\'s kind', () => {
    /** The envelopes route handed to its offline-push and push-service sinks, as (msg_id, kind). */
    const offered: Array<[number, number]> = [];
    const record = { offer: (envs: readonly tiertalk.Envelope.$Properties[]) => offered.push(...envs.map((e): [number, number] => [e.msgId ?? 0, e.kind ?? 0])) };
    const deps = (): RouteDeps => ({ store, links, logger, offlinePush: record });
    beforeAll(async () => {
      await login('gw-a', 31, 4100, CLIENT_TYPE_WINDOWS);
      await login('gw-b', 32, 4101, CLIENT_TYPE_WINDOWS);
    });
    beforeEach(() => {
      offered.length = 0;
    });

    it('a 1:1 message listing one receiver is 1:1, a group of exactly two members is a group', async () => {
      const report = await deliverBatch(
        deps(),
        tiertalk.EnvelopeBatch.create({
          items: [
            // Only the receiver listed: the old `two receivers means 1:1` test took it for a group.
            { ...singleMsg(4100, 4101, 51), toUserIds: [4101] },
            // Two members, like a 1:1 [to, from]: the old test took it for 1:1.
            { ...groupMsg(4100, 4200, 52), toUserIds: [4100, 4101], originGatewayId: 'gw-a', originConnId: 31 },
          ],
        }),
        logger,
      );
      expect(report).toMatchObject({ envelopes: 2, pushes: 3 });
      await waitFor(() => gwA.batches.length === 1 && gwB.batches.length === 1, 3000, 'a batch on each gateway');
      // The gateways key their awaiting-ack and repeat checks on these fields (services/msg gateway-service.ts).
      expect(gwB.pushes()).toEqual([
        expect.objectContaining({ toUserIds: [4101], kind: MESSAGE_KIND_SINGLE, msgId: 51, fromUserId: 4100, toSessionId: 4101 }),
        expect.objectContaining({ toUserIds: [4101], kind: MESSAGE_KIND_GROUP, msgId: 52, fromUserId: 4100, toSessionId: 4200 }),
      ]);
      expect(gwA.pushes()).toEqual([
        expect.objectContaining({ toUserIds: [4100], originConnId: 31, kind: MESSAGE_KIND_GROUP, msgId: 52, toSessionId: 4200 }),
      ]);
      expect(offered).toEqual([[51, MESSAGE_KIND_SINGLE], [52, MESSAGE_KIND_GROUP]]);
    });

    it("carries the sender's client class onto every push (the peer's and the sender's other devices') and to the push sinks", async () => {
      const { CLIENT_CLASS_MOBILE } = tiertalk.ClientClass;
      // 4102 sends from a phone on gateway B; its PC on gateway A gets the copy, as does the receiver 4100 there.
      await login('gw-b', 33, 4102, CLIENT_TYPE_ANDROID);
      await login('gw-a', 34, 4102, CLIENT_TYPE_WINDOWS);
      const classes: Array<[string, number | null | undefined]> = [];
      const sink = (name: string) => ({ offer: (envs: readonly tiertalk.Envelope.$Properties[]) => classes.push(...envs.map((e): [string, number | null | undefined] => [name, e.fromClientClass])) });
      const sent = { ...singleMsg(4102, 4100, 54), toUserIds: [4100, 4102], originGatewayId: 'gw-b', originConnId: 33, fromClientClass: CLIENT_CLASS_MOBILE };
      await deliverBatch({ store, links, logger, offlinePush: sink('offline'), pushService: sink('push') }, tiertalk.EnvelopeBatch.create({ items: [sent] }), logger);
      await waitFor(() => gwA.batches.length === 1 && gwB.batches.length === 1, 3000, 'a batch on each gateway');
      expect(gwA.pushes()).toEqual([expect.objectContaining({ toUserIds: [4100, 4102], fromClientClass: CLIENT_CLASS_MOBILE, msgId: 54 })]);
      expect(gwB.pushes()).toEqual([expect.objectContaining({ toUserIds: [4102], originConnId: 33, fromClientClass: CLIENT_CLASS_MOBILE, msgId: 54 })]);
      expect(classes).toEqual([['offline', CLIENT_CLASS_MOBILE], ['push', CLIENT_CLASS_MOBILE]]);
    });

    it('leaves the sender\'s class off the pushes when the envelope has none (HTTP API, older gateways)', async () => {
      await deliverBatch(deps(), tiertalk.EnvelopeBatch.create({ items: [{ ...singleMsg(4100, 4101, 55), toUserIds: [4101, 4100] }] }), logger);
      await waitFor(() => gwA.batches.length === 1 && gwB.batches.length === 1, 3000, 'a batch on each gateway');
      const pushes = [...gwA.pushes(), ...gwB.pushes()];
      expect(pushes).toEqual([expect.objectContaining({ msgId: 55, toUserIds: [4100] }), expect.objectContaining({ msgId: 55, toUserIds: [4101] })]);
      for (const push of pushes) expect(Object.hasOwn(push, 'fromClientClass')).toBe(false);
    });

    it('reads kind and ids from the body of an older gateway\'s envelope only, before the push sinks see it', async () => {
      const older: tiertalk.Envelope.$Properties = { commandId: CID.CID_MSG_DATA, body: singleMsg(4100, 4101, 53).body, toUserIds: [4101, 4100] };
      const notAMessage: tiertalk.Envelope.$Properties = { commandId: CID.CID_MSG_DATA, body: Buffer.from('x'), toUserIds: [4101] };
      await deliverBatch(deps(), tiertalk.EnvelopeBatch.create({ items: [older, notAMessage] }), logger);
      expect(offered).toEqual([[53, MESSAGE_KIND_SINGLE], [0, 0]]);
      await waitFor(() => gwB.batches.length === 1, 3000, 'gateway B push');
      const [fromOlder, opaque] = gwB.pushes();
      expect(fromOlder).toMatchObject({ kind: MESSAGE_KIND_SINGLE, msgId: 53, fromUserId: 4100, toSessionId: 4101 });
      expect(Object.hasOwn(opaque, 'kind')).toBe(false);
    });
  });

  describe('Login', () => {
    it('kicks the same-class session on the other gateway, not the mobile one', async () => {
      expect((await login('gw-a', 11, 500, CLIENT_TYPE_WINDOWS)).kicked).toBe(0);
      expect((await login('gw-b', 12, 500, CLIENT_TYPE_ANDROID)).kicked).toBe(0);
      expect((await receivedBeforeMarker(gwA)).batches).toHaveLength(0);
      expect((await receivedBeforeMarker(gwB)).batches).toHaveLength(0);

      const rsp = await login('gw-b', 13, 500, CLIENT_TYPE_MAC);
      expect(rsp.kicked).toBe(1);
      await waitFor(() => gwA.batches.length === 1, 3000, 'kick on gateway A');
      const [kick] = gwA.pushes();
      expect(kick.commandId).toBe(CID.CID_OTHER_SERVER_KICK_USER);
      expect(kick.connIds).toEqual([11]);
      const body = IM.Server.IMServerKickUser.decode(kick.body);
      expect(body).toMatchObject({ userId: 500, clientType: CLIENT_TYPE_MAC, reason: IM.BaseDefine.KickReasonType.KICK_REASON_DUPLICATE_USER });
      expect((await receivedBeforeMarker(gwB)).batches).toHaveLength(0);
    });

    it('kicks a same-class session on the same gateway too', async () => {
      await login('gw-a', 21, 501, CLIENT_TYPE_IOS);
      const rsp = await login('gw-a', 22, 501, CLIENT_TYPE_ANDROID);
      expect(rsp.kicked).toBe(1);
      await waitFor(() => gwA.batches.length === 1, 3000, 'kick on gateway A');
      expect(gwA.pushes()[0]).toMatchObject({ commandId: CID.CID_OTHER_SERVER_KICK_USER, connIds: [21] });
    });

    it('rejects a malformed session ref', async () => {
      await expect(login('', 1, 1, CLIENT_TYPE_WINDOWS)).rejects.toThrow(/^request_invalid$/);
      await expect(login('gw/a', 1, 1, CLIENT_TYPE_WINDOWS)).rejects.toThrow(/^request_invalid$/);
      await expect(login('gw-a', 1, 0, CLIENT_TYPE_WINDOWS)).rejects.toThrow(/^request_invalid$/);
    });

    it('logout removes exactly that session and is idempotent', async () => {
      await login('gw-a', 31, 502, CLIENT_TYPE_WINDOWS);
      await login('gw-b', 32, 502, CLIENT_TYPE_IOS);
      const ref = tiertalk.SessionRef.create({ gatewayId: 'gw-a', connId: 31, userId: 502, clientType: CLIENT_TYPE_WINDOWS });
      await logoutRef(ref);
      await logoutRef(ref);
      expect((await store.lookup([502])).get(502)).toEqual([{ gatewayId: 'gw-b', connId: 32, clientType: CLIENT_TYPE_IOS }]);
    });
  });

  describe('UsersStat', () => {
    it('is ONLINE only with a PC session, in request order', async () => {
      await login('gw-a', 41, 600, CLIENT_TYPE_ANDROID);
      await login('gw-b', 42, 601, CLIENT_TYPE_IOS);
      await login('gw-b', 43, 601, CLIENT_TYPE_MAC);
      await login('gw-a', 44, 602, CLIENT_TYPE_WINDOWS);
      const attachData = Buffer.from('handle-9');
      const rsp = await unaryCall(
        client,
        RouteService.UsersStat,
        IM.Buddy.IMUsersStatReq.create({ userId: 9, userIdList: [602, 600, 603, 601, 602], attachData }),
        DEADLINE,
      );
      expect(rsp.userId).toBe(9);
      expect(Buffer.from(rsp.attachData)).toEqual(attachData);
      expect(rsp.userStatList.map((s) => [s.userId, s.status])).toEqual([
        [602, USER_STATUS_ONLINE],
        [600, USER_STATUS_OFFLINE],
        [603, USER_STATUS_OFFLINE],
        [601, USER_STATUS_ONLINE],
        [602, USER_STATUS_ONLINE],
      ]);
      const empty = await unaryCall(client, RouteService.UsersStat, IM.Buddy.IMUsersStatReq.create({ userId: 9, userIdList: [] }), DEADLINE);
      expect(empty.userStatList).toEqual([]);
    });
  });

  describe('UsersStat bounds', () => {
    it('refuses more ids than MAX_USERS_STAT_IDS', async () => {
      const userIdList = Array.from({ length: MAX_USERS_STAT_IDS + 1 }, (_, i) => i + 1);
      const refused = await unaryCall(client, RouteService.UsersStat, IM.Buddy.IMUsersStatReq.create({ userId: 9, userIdList }), DEADLINE).catch((err: unknown) => err);
      expect(refused).toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
      expect(errorCodeOf(refused)).toBe('request_invalid');
      const atLimit = await unaryCall(
        client,
        RouteService.UsersStat,
        IM.Buddy.IMUsersStatReq.create({ userId: 9, userIdList: userIdList.slice(0, MAX_USERS_STAT_IDS) }),
        DEADLINE,
      );
      expect(atLimit.userStatList).toHaveLength(MAX_USERS_STAT_IDS);
    });
  });

  describe('presence (docs/FLOWS.md §5)', () => {
    const logout = (gatewayId: string, connId: number, userId: number, clientType: IM.BaseDefine.ClientType) =>
      logoutRef({ gatewayId, connId, userId, clientType });
    const statusOf = (p: tiertalk.Push.$Properties) => IM.Buddy.IMUserStatNotify.decode(p.body).userStat;
    const pcLoginOf = (p: tiertalk.Push.$Properties) => IM.Buddy.IMPCLoginStatusNotify.decode(p.body);
    const statusPushes = (gw: TestGateway) => gw.presence.filter((p) => p.commandId === CID.CID_BUDDY_LIST_STATUS_NOTIFY);
    const pcLoginPushes = (gw: TestGateway) => gw.presence.filter((p) => p.commandId === CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY);

    it('a PC login broadcasts ONLINE to the PC connections of every gateway, the new connection left out', async () => {
      await login('gw-a', 71, 1000, CLIENT_TYPE_WINDOWS);
      await waitFor(() => gwA.presence.length === 1 && gwB.presence.length === 1, 3000, 'status on both gateways');
      const [onA] = gwA.presence;
      const [onB] = gwB.presence;
      expect(onA).toMatchObject({ commandId: CID.CID_BUDDY_LIST_STATUS_NOTIFY, allUsers: true, clientClass: 1, originConnId: 71 });
      expect(onB).toMatchObject({ commandId: CID.CID_BUDDY_LIST_STATUS_NOTIFY, allUsers: true, clientClass: 1 });
      expect(Object.hasOwn(onB, 'originConnId')).toBe(false);
      expect(statusOf(onA)).toMatchObject({ userId: 1000, status: USER_STATUS_ONLINE });
      // the same body bytes go to every gateway
      expect(Buffer.from(onB.body)).toEqual(Buffer.from(onA.body));
      // a mobile login of that user: no 0x0203 (P3); P5 only for the user's *other* mobiles (none here)
      gwA.clear();
      gwB.clear();
      await login('gw-b', 72, 1000, CLIENT_TYPE_ANDROID);
      expect((await receivedBeforeMarker(gwA)).presence).toHaveLength(0);
      expect((await receivedBeforeMarker(gwB)).presence).toHaveLength(0);
    });

    it('tells mobiles about PC logins and logouts; OFFLINE only when the last PC session goes', async () => {
      await login('gw-b', 81, 1001, CLIENT_TYPE_IOS);
      expect((await receivedBeforeMarker(gwA)).presence).toHaveLength(0);
      expect((await receivedBeforeMarker(gwB)).presence).toHaveLength(0);

      await login('gw-a', 82, 1001, CLIENT_TYPE_WINDOWS);
      await waitFor(() => pcLoginPushes(gwB).length === 1 && statusPushes(gwA).length === 1 && statusPushes(gwB).length === 1, 3000, 'ONLINE');
      expect(pcLoginPushes(gwB)[0]).toMatchObject({ toUserIds: [1001], clientClass: 2 });
      expect(pcLoginOf(pcLoginPushes(gwB)[0])).toMatchObject({ userId: 1001, loginStat: USER_STATUS_ONLINE });
      // only the gateway holding the user's mobile hears of it
      expect(pcLoginPushes(gwA)).toHaveLength(0);

      // a second PC (it kicks the first): ONLINE again, as TeamTalk's route does on every PC login
      gwA.clear();
      gwB.clear();
      await login('gw-b', 83, 1001, CLIENT_TYPE_MAC);
      await waitFor(() => statusPushes(gwA).length === 1 && statusPushes(gwB).length === 1 && pcLoginPushes(gwB).length === 1, 3000, 'ONLINE again');
      expect(statusPushes(gwB)[0].originConnId).toBe(83);

      // the kicked PC leaves while another PC remains: nothing (P2)
      gwA.clear();
      gwB.clear();
      await logout('gw-a', 82, 1001, CLIENT_TYPE_WINDOWS);
      expect((await receivedBeforeMarker(gwA)).presence).toHaveLength(0);
      expect((await receivedBeforeMarker(gwB)).presence).toHaveLength(0);

      // the last PC leaves: OFFLINE to every PC connection and to the user's mobile
      await logout('gw-b', 83, 1001, CLIENT_TYPE_MAC);
      await waitFor(() => statusPushes(gwA).length === 1 && statusPushes(gwB).length === 1 && pcLoginPushes(gwB).length === 1, 3000, 'OFFLINE');
      expect(statusOf(statusPushes(gwA)[0])).toMatchObject({ userId: 1001, status: USER_STATUS_OFFLINE });
      expect(Object.hasOwn(statusPushes(gwA)[0], 'originConnId')).toBe(false);
      expect(pcLoginOf(pcLoginPushes(gwB)[0])).toMatchObject({ userId: 1001, loginStat: USER_STATUS_OFFLINE });

      // a repeated logout and the mobile's logout change nothing
      gwA.clear();
      gwB.clear();
      await logout('gw-b', 83, 1001, CLIENT_TYPE_MAC);
      await logout('gw-b', 81, 1001, CLIENT_TYPE_IOS);
      expect((await receivedBeforeMarker(gwA)).presence).toHaveLength(0);
      expect((await receivedBeforeMarker(gwB)).presence).toHaveLength(0);
    });

    it('a mobile logging in while a PC is online makes the user\'s other mobiles hear ONLINE', async () => {
      await store.login({ gatewayId: 'gw-a', connId: 84, userId: 1002, clientType: CLIENT_TYPE_WINDOWS });
      await store.login({ gatewayId: 'gw-a', connId: 85, userId: 1002, clientType: CLIENT_TYPE_ANDROID });
      await login('gw-b', 86, 1002, CLIENT_TYPE_IOS);
      await waitFor(() => pcLoginPushes(gwA).length === 1, 3000, 'PC login status on gateway A');
      expect(pcLoginPushes(gwA)[0]).toMatchObject({ toUserIds: [1002], clientClass: 2 });
      expect(pcLoginOf(pcLoginPushes(gwA)[0]).loginStat).toBe(USER_STATUS_ONLINE);
      expect((await receivedBeforeMarker(gwA)).presence.filter((p) => p.commandId === CID.CID_BUDDY_LIST_STATUS_NOTIFY)).toHaveLength(0);
      expect((await receivedBeforeMarker(gwB)).presence).toHaveLength(0);
    });
  });

  describe('KickUser (docs/FLOWS.md §11)', () => {
    const kickUser = (userId: number, clientType: IM.BaseDefine.ClientType, reason: number) =>
      unaryCall(client, RouteService.KickUser, IM.Server.IMServerKickUser.create({ userId, clientType, reason }), DEADLINE);

    it('kicks every session of the class on every gateway, with the reason, and no other class', async () => {
      await store.login({ gatewayId: 'gw-a', connId: 91, userId: 1100, clientType: CLIENT_TYPE_WINDOWS });
      await store.login({ gatewayId: 'gw-b', connId: 92, userId: 1100, clientType: CLIENT_TYPE_ANDROID });
      await store.login({ gatewayId: 'gw-b', connId: 93, userId: 1100, clientType: CLIENT_TYPE_MAC });
      const rsp = await kickUser(1100, CLIENT_TYPE_MAC, IM.BaseDefine.KickReasonType.KICK_REASON_MOBILE_KICK);
      expect(rsp.kicked).toBe(2);
      await waitFor(() => gwA.batches.length === 1 && gwB.batches.length === 1, 3000, 'kicks on both gateways');
      expect(gwA.pushes()).toEqual([expect.objectContaining({ commandId: CID.CID_OTHER_SERVER_KICK_USER, connIds: [91] })]);
      expect(gwB.pushes()).toEqual([expect.objectContaining({ commandId: CID.CID_OTHER_SERVER_KICK_USER, connIds: [93] })]);
      expect(IM.Server.IMServerKickUser.decode(gwB.pushes()[0].body)).toMatchObject({
        userId: 1100,
        clientType: CLIENT_TYPE_MAC,
        reason: IM.BaseDefine.KickReasonType.KICK_REASON_MOBILE_KICK,
      });
    });

    it('kicks nobody for a user without sessions of that class', async () => {
      await store.login({ gatewayId: 'gw-a', connId: 94, userId: 1101, clientType: CLIENT_TYPE_IOS });
      expect((await kickUser(1101, CLIENT_TYPE_MAC, 2)).kicked).toBe(0);
      expect((await kickUser(1199, CLIENT_TYPE_MAC, 2)).kicked).toBe(0);
      expect((await receivedBeforeMarker(gwA)).batches).toHaveLength(0);
    });

    it('rejects user 0 and unknown reasons', async () => {
      await expect(kickUser(0, CLIENT_TYPE_MAC, 2)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
      await expect(kickUser(1100, CLIENT_TYPE_MAC, 9)).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    });
  });

  describe('push stream', () => {
    it('reopens after the gateway restarts', async () => {
      await login('gw-b', 51, 700, CLIENT_TYPE_WINDOWS);
      const port = gwB.port;
      gwB.stopServer();
      const stream = openBidi(client, RouteService.Deliver);
      stream.on('error', () => undefined);
      const batch = tiertalk.EnvelopeBatch.create({ items: [{ commandId: CID.CID_MSG_DATA, body: Buffer.from('again'), toUserIds: [700] }] });
      const held = new Promise<void>((resolve) => stream.on('data', (r: DeliverReport) => r.received && resolve()));
      stream.write(batch);
      // route holds the batch (and its push to the stopped gateway fails) before the gateway comes back.
      await held;
      await gwB.start(registry, port);
      // Pushes written while the gateway was down may be lost (offline pull recovers them);
      // the link must come back for later ones.
      await waitFor(
        async () => {
          stream.write(batch);
          await sleep(100);
          return gwB.batches.length > 0;
        },
        10000,
        'pushes to the restarted gateway',
      );
      stream.end();
      expect(gwB.pushes()[0]).toMatchObject({ toUserIds: [700] });
    });
  });

  describe('acknowledged delivery', () => {
    let stream: grpc.ClientDuplexStream<EnvelopeBatch, DeliverReport>;
    const reports: DeliverReport[] = [];
    const batch = (...items: Array<[number, string]>): EnvelopeBatch =>
      tiertalk.EnvelopeBatch.create({ items: items.map(([userId, text]) => ({ commandId: CID.CID_MSG_DATA, body: Buffer.from(text), toUserIds: [userId] })) });
    // Only this block's pushes (earlier tests' pushes may still be resent to gateway B).
    const bodies = (gw: TestGateway): string[] =>
      gw.pushes().map((p) => Buffer.from(p.body).toString()).filter((b) => /^(to-|r\d|c\d|marker)/.test(b));

    beforeAll(async () => {
      await login('gw-a', 71, 3000, CLIENT_TYPE_WINDOWS);
      await login('gw-b', 72, 3001, CLIENT_TYPE_WINDOWS);
      stream = openBidi(client, RouteService.Deliver);
      stream.on('data', (r: DeliverReport) => {
        if (!r.received) reports.push(r); // `received` reports are checked on their own below
      });
      stream.on('error', () => undefined);
    });
    afterAll(() => {
      gwB.releaseAcks();
      stream.end();
    });
    beforeEach(() => {
      gwA.clear();
      gwB.clear();
      reports.length = 0;
    });

    it('reports batches in stream order, each only once every gateway acknowledged its pushes', async () => {
      gwB.holdAcks = true;
      stream.write(batch([3001, 'to-b']));
      stream.write(batch([3000, 'to-a-1'], [3000, 'to-a-2']));
      await waitFor(() => bodies(gwB).includes('to-b') && bodies(gwA).includes('to-a-2'), 3000, 'both pushes');
      // Marker: a batch on another Deliver stream, acknowledged by gateway A after the second batch.
      const other = openBidi(client, RouteService.Deliver);
      other.on('error', () => undefined);
      const markerReports: DeliverReport[] = [];
      other.on('data', (r: DeliverReport) => {
        if (!r.received) markerReports.push(r); // `received` reports are checked on their own below
      });
      other.write(batch([3000, 'marker']));
      await waitFor(() => markerReports.length === 1, 3000, 'the marker report');
      other.end();
      // The second batch is acknowledged, but the first is not: neither is reported.
      expect(reports).toEqual([]);
      gwB.releaseAcks();
      await waitFor(() => reports.length === 2, 3000, 'both reports');
      expect(reports.map((r) => r.envelopes)).toEqual([1, 2]);
    });

    it('says it received each batch at once, and still routes what it received when the origin stream dies', async () => {
      // The batch cannot be routed yet: user 3004's session hash is a string (WRONGTYPE), so its lookup is retried.
      await redis.set(store.userKey(3004), 'not a hash');
      const origin = openBidi(client, RouteService.Deliver);
      origin.on('error', () => undefined);
      const got: DeliverReport[] = [];
      origin.on('data', (r: DeliverReport) => got.push(r));
      try {
        origin.write(tiertalk.EnvelopeBatch.create({ items: [{ commandId: CID.CID_MSG_DATA, body: Buffer.from('c1'), toUserIds: [3001, 3004] }] }));
        await waitFor(() => got.some((r) => r.received === 1), 3000, 'the received report');
        expect(got.every((r) => r.envelopes === 0)).toBe(true);
        // The origin gateway dies (its senders were ACKed on the strength of `received`), then the registry heals.
        origin.cancel();
        await redis.del(store.userKey(3004));
        await waitFor(() => bodies(gwB).includes('c1'), 5000, 'the push of the received batch');
        expect(bodies(gwB)).toEqual(['c1']);
      } finally {
        await redis.del(store.userKey(3004));
      }
    });

    it('sends the unacknowledged batches again, in order, when the push stream breaks; reports after their ack', async () => {
      gwB.holdAcks = true;
      const streamsBefore = gwB.streams;
      stream.write(batch([3001, 'r1']));
      stream.write(batch([3001, 'r2']));
      await waitFor(() => bodies(gwB).length === 2, 3000, 'two pushes');
      gwB.holdAcks = false;
      gwB.breakStream();
      await waitFor(() => reports.length === 2, 5000, 'reports after the resend');
      expect(gwB.streams).toBe(streamsBefore + 1);
      expect(bodies(gwB)).toEqual(['r1', 'r2', 'r1', 'r2']);
      expect(reports.map((r) => r.envelopes)).toEqual([1, 1]);
    });

    it('holds a batch while the session registry cannot be read, and routes it once it can', async () => {
      // A real Redis error: user 3003's session hash is a string, so the batch's lookup fails (WRONGTYPE).
      await redis.set(store.userKey(3003), 'not a hash');
      const held = openBidi(client, RouteService.Deliver);
      const heldReports: DeliverReport[] = [];
      held.on('data', (r: DeliverReport) => {
        if (!r.received) heldReports.push(r); // `received` reports are checked on their own below
      });
      held.on('error', () => undefined);
      try {
        held.write(tiertalk.EnvelopeBatch.create({ items: [{ commandId: CID.CID_MSG_DATA, body: Buffer.from('r8-held'), toUserIds: [3001, 3003] }] }));
        // Marker on another stream: delivered and reported while the held batch is retried.
        stream.write(batch([3001, 'r9-marker']));
        await waitFor(() => reports.length === 1, 3000, 'the marker report');
        expect(heldReports).toEqual([]);
        expect(bodies(gwB)).toEqual(['r9-marker']);
        await redis.del(store.userKey(3003));
        await waitFor(() => heldReports.length === 1, 5000, 'the held batch reported');
        expect(bodies(gwB)).toEqual(['r9-marker', 'r8-held']);
      } finally {
        held.end();
        await redis.del(store.userKey(3003));
      }
    });

    it('settles the pushes of a gateway that leaves etcd, so its batch is reported', async () => {
      const gwC = new TestGateway('gw-c');
      await gwC.start(registry);
      await waitFor(() => links.isLive('gw-c'), 3000, 'gw-c live');
      await login('gw-c', 73, 3002, CLIENT_TYPE_WINDOWS);
      gwC.holdAcks = true;
      stream.write(batch([3002, 'c1']));
      await waitFor(() => bodies(gwC).length === 1, 3000, 'push to gw-c');
      expect(reports).toEqual([]);
      await gwC.registration?.deregister();
      await waitFor(() => reports.length === 1, 5000, 'report once gw-c left');
      expect(reports[0].envelopes).toBe(1);
      gwC.stopServer();
    });
  });

  describe('dead gateways', () => {
    it('a gateway leaving etcd has its sessions purged, others kept', async () => {
      await login('gw-a', 61, 800, CLIENT_TYPE_WINDOWS);
      await login('gw-b', 62, 800, CLIENT_TYPE_ANDROID);
      await login('gw-a', 63, 801, CLIENT_TYPE_ANDROID);
      await gwA.registration?.deregister();
      await waitFor(async () => !(await store.gatewayIds()).includes('gw-a'), 5000, 'gw-a purged');
      const found = await store.lookup([800, 801]);
      expect(found.get(800)).toEqual([{ gatewayId: 'gw-b', connId: 62, clientType: CLIENT_TYPE_ANDROID }]);
      expect(found.get(801)).toEqual([]);
      expect(links.isLive('gw-a')).toBe(false);
      expect(await redis.exists(store.gatewayKey('gw-a'))).toBe(0);
    });

    it('the sweep purges ghosts of gateways that are not in etcd', async () => {
      await store.login({ gatewayId: 'gw-ghost', connId: 1, userId: 900, clientType: CLIENT_TYPE_WINDOWS });
      await waitFor(async () => (await store.lookup([900])).get(900)?.length === 0, 5000, 'ghost purged');
      expect(await store.gatewayIds()).not.toContain('gw-ghost');
      expect(await store.gatewayIds()).toContain('gw-b');
    });
  });
});
