// route's trigger for the push service over real gRPC and etcd: which
// envelopes become push requests, that they ride one stream in batches, and
// that nothing ever waits on the push service (a silent or missing push
// service sheds and counts).
import { randomBytes } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { createLogger } from '@tiertalk/log';
import { metricsRegistry } from '@tiertalk/metrics';
import { CID, IM, PushService, tiertalk, type NotifiedBatch, type NotifyBatch } from '@tiertalk/proto';
import { Registry, type Registration, type ServiceWatch } from '@tiertalk/registry';
import { InstancePool, bindServer, createServer, insecureLoopback } from '@tiertalk/rpc';
import { waitFor } from '@tiertalk/testkit';
import { PushServiceLink } from './push-service-link';

const ETCD = process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379';
const log = createLogger({ service: 'push-link-test', instanceId: 't', level: process.env.TT_TEST_LOG_LEVEL ?? 'silent' });

/** A push instance that records what it gets and answers as told (or not at all). */
class FakePush {
  readonly batches: tiertalk.NotifyItem.$Properties[][] = [];
  answer: 'accept' | 'refuse' | 'silent' = 'accept';
  private server: grpc.Server | undefined;
  private registration: Registration | undefined;

  async start(registry: Registry, id: string): Promise<void> {
    const server = createServer({ security: insecureLoopback() });
    server.addService(PushService, {
      Notify: (call: grpc.ServerDuplexStream<NotifyBatch, NotifiedBatch>) => {
        call.on('data', (batch: NotifyBatch) => {
          this.batches.push(batch.items);
          if (this.answer === 'silent') return;
          call.write(tiertalk.NotifiedBatch.create({ items: batch.items.map((i) => ({ ref: i.ref, accepted: this.answer === 'accept' })) }));
        });
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    });
    this.server = server;
    const port = await bindServer(server, '127.0.0.1', 0);
    this.registration = await registry.register({ id, service: 'push', addr: `127.0.0.1:${port}`, load: 0, meta: {} });
  }

  get items(): tiertalk.NotifyItem.$Properties[] {
    return this.batches.flat();
  }

  async stop(): Promise<void> {
    this.server?.forceShutdown();
    await this.registration?.deregister();
  }
}

const body = (from: number, to: number, msgId: number): Uint8Array =>
  IM.Message.IMMsgData.encode({ fromUserId: from, toSessionId: to, msgId, createTime: 1, msgType: IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT, msgData: Buffer.from('x') }).finish();
const { MESSAGE_KIND_SINGLE, MESSAGE_KIND_GROUP } = tiertalk.MessageKind;
/** A stored message's envelope as a gateway sends it (kind and ids beside the body). */
const message = (from: number, to: number, msgId: number, toUserIds: number[], kind = MESSAGE_KIND_SINGLE): tiertalk.Envelope.$Properties => ({
  commandId: CID.CID_MSG_DATA, body: body(from, to, msgId), toUserIds, kind, msgId, fromUserId: from, toSessionId: to,
});
const pc = [{ gatewayId: 'gw', connId: 1, clientType: IM.BaseDefine.ClientType.CLIENT_TYPE_WINDOWS }];
const phone = [{ gatewayId: 'gw', connId: 2, clientType: IM.BaseDefine.ClientType.CLIENT_TYPE_ANDROID }];

async function outcomes(): Promise<Record<string, number>> {
  const metric = await metricsRegistry.getSingleMetric('tt_route_push_requests_total')?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.outcome), v.value]));
}

let registry: Registry;
let watch: ServiceWatch;
let pool: InstancePool;
let link: PushServiceLink;
let fake: FakePush | undefined;

beforeEach(async () => {
  registry = await Registry.connect({ endpoints: [ETCD], prefix: `/tt-test-push-link-${randomBytes(4).toString('hex')}`, leaseTtlSec: 2, logger: log });
  watch = await registry.watch('push');
  pool = new InstancePool(watch, { security: insecureLoopback(), logger: log });
  link = new PushServiceLink({ pool, logger: log, queueMax: 3, deadlineMs: 1000, mobileOnly: true });
});

afterEach(async () => {
  link.close();
  pool.close();
  await fake?.stop();
  fake = undefined;
  await watch.close();
  await registry.close();
});

async function startFake(): Promise<FakePush> {
  fake = new FakePush();
  await fake.start(registry, 'push-a');
  await waitFor(() => pool.get('push-a') !== undefined, 3000);
  return fake;
}

it('sends one request per stored message with receivers without a session, a turn\'s requests in one batch', async () => {
  const push = await startFake();
  const before = await outcomes();
  const envelopes: tiertalk.Envelope.$Properties[] = [
    // 1:1 to 2 (offline) from 1 (online): pushed for [2].
    message(1, 2, 10, [2, 1]),
    // Group fan-out: 3 online, 4 and 5 offline, 6 on a phone only (may be in the background), 7 on a PC and a phone.
    message(3, 77, 11, [3, 4, 5, 6, 7], MESSAGE_KIND_GROUP),
    // Everyone online: nothing.
    message(1, 3, 12, [3, 1]),
    // Not a message (a read notify): nothing.
    { commandId: CID.CID_MSG_READ_NOTIFY, body: Buffer.from([]), toUserIds: [2] },
  ];
  link.offer(envelopes, new Map([[1, pc], [3, pc], [6, phone], [7, [...pc, ...phone]]]));
  await waitFor(async () => ((await outcomes()).accepted ?? 0) - (before.accepted ?? 0) === 2, 3000);
  expect(push.batches.length).toBe(1);
  expect(push.items.map((i) => [IM.Message.IMMsgData.decode(i.msg).msgId, i.userIds])).toEqual([
    [10, [2]],
    [11, [4, 5, 6]],
  ]);
});

it("carries the sender's class on the request; a message without one (HTTP API) leaves it unset", async () => {
  const push = await startFake();
  const before = await outcomes();
  const { CLIENT_CLASS_MOBILE } = tiertalk.ClientClass;
  // As route's Deliver stream hands it over: decoded, an unset class reads as 0.
  const decoded = tiertalk.Envelope.decode(tiertalk.Envelope.encode(message(1, 2, 21, [2, 1])).finish());
  link.offer([{ ...message(1, 2, 20, [2, 1]), fromClientClass: CLIENT_CLASS_MOBILE }, decoded], new Map([[1, pc]]));
  await waitFor(async () => ((await outcomes()).accepted ?? 0) - (before.accepted ?? 0) === 2, 3000);
  const byMsg = new Map(push.items.map((i) => [IM.Message.IMMsgData.decode(i.msg).msgId, i]));
  expect(byMsg.get(20)?.fromClientClass).toBe(CLIENT_CLASS_MOBILE);
  expect(Object.hasOwn(byMsg.get(21) ?? {}, 'fromClientClass')).toBe(false);
});

it('with no push instance, or one that does not answer, requests are counted and dropped: offer never waits', async () => {
  const before = await outcomes();
  link.offer([message(1, 2, 1, [2, 1])], new Map());
  expect((await outcomes()).unavailable - before.unavailable).toBe(1);

  const push = await startFake();
  push.answer = 'silent';
  const start = Date.now();
  for (let i = 0; i < 5; i++) link.offer([message(1, 2, 100 + i, [2, 1])], new Map());
  expect(Date.now() - start).toBeLessThan(100);
  // queueMax 3: the 4th and 5th are shed at once; the 3 in flight time out as unavailable.
  expect((await outcomes()).shed - before.shed).toBe(2);
  await waitFor(async () => (await outcomes()).unavailable - before.unavailable === 4, 5000);
});

it('a push service with a full queue refuses, counted as refused', async () => {
  const push = await startFake();
  push.answer = 'refuse';
  const before = await outcomes();
  link.offer([message(1, 2, 1, [2, 1])], new Map());
  await waitFor(async () => (await outcomes()).refused - before.refused === 1, 3000);
});

it('with mobileOnly off, a receiver on a phone only is not asked for', async () => {
  const push = await startFake();
  const strict = new PushServiceLink({ pool, logger: log, queueMax: 3, deadlineMs: 1000, mobileOnly: false });
  const before = await outcomes();
  strict.offer(
    [
      message(1, 6, 20, [6, 1]),
      message(1, 2, 21, [2, 1]),
    ],
    new Map([[1, pc], [6, phone]]),
  );
  await waitFor(async () => (await outcomes()).accepted - before.accepted === 1, 3000);
  expect(push.items.map((i) => [IM.Message.IMMsgData.decode(i.msg).msgId, i.userIds])).toEqual([[21, [2]]]);
  strict.close();
});
