// The offline-push webhook against a real local HTTP server (the test peer
// that receives the POSTs), in memory and on its durable queue in a real
// Redis. Device tokens come from an in-memory TokenSource; the db-proxy path
// is covered end to end in test/e2e/push.e2e.test.ts.
import http from 'node:http';
import Redis, { Cluster } from 'ioredis';
import pino from 'pino';
import { CID, IM, tiertalk, encryptContent } from '@tiertalk/proto';
import { PrivateRedisCluster, redisDbsForFile, waitFor } from '@tiertalk/testkit';
import { OfflinePushNotifier } from './offline-push';
import type { OfflinePushOptions, TokenSource } from './offline-push';
import { PUSH_GROUP, PushStream } from './push-stream';
import { createDurableOfflinePush } from './start-offline-push';
import type { DurableOfflinePushOptions, OfflinePush } from './start-offline-push';

// A db of the test Redis claimed for this file, so no other test file or run shares it.
const redisDb = redisDbsForFile({ beforeAll, afterAll });
const STREAM = 'tt:push:test';

const AES_KEY = '12345678901234567890123456789012';
const { MSG_TYPE_SINGLE_TEXT, MSG_TYPE_SINGLE_AUDIO, MSG_TYPE_GROUP_TEXT } = IM.BaseDefine.MsgType;
const { CLIENT_TYPE_IOS, CLIENT_TYPE_ANDROID } = IM.BaseDefine.ClientType;
const { MESSAGE_KIND_SINGLE, MESSAGE_KIND_GROUP } = tiertalk.MessageKind;
const { CLIENT_CLASS_PC, CLIENT_CLASS_MOBILE } = tiertalk.ClientClass;

/** A webhook receiver whose answer per request is chosen by the test. */
class WebhookPeer {
  /** The JSON documents received, parsed. */
  readonly received: Array<Record<string, unknown>> = [];
  respond: (n: number) => number | 'hang' = () => 200;
  private readonly hanging: http.ServerResponse[] = [];
  private server!: http.Server;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        this.received.push(typeof parsed === 'object' && parsed !== null ? { ...parsed } : { invalid: parsed });
        const answer = this.respond(this.received.length);
        if (answer === 'hang') {
          this.hanging.push(res);
          return;
        }
        res.writeHead(answer, { 'content-type': 'text/plain' }).end('x');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('webhook peer has no TCP address');
    this.url = `http://127.0.0.1:${addr.port}/push`;
  }

  releaseHanging(status = 200): void {
    for (const res of this.hanging.splice(0)) res.writeHead(status).end();
  }

  async stop(): Promise<void> {
    this.releaseHanging();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Tokens by user, as db-proxy's GetDeviceToken would answer. */
class MemoryTokens implements TokenSource {
  calls: number[][] = [];
  failing = false;
  constructor(private readonly byUser: Map<number, IM.BaseDefine.UserTokenInfo.$Properties[]>) {}
  async tokensOf(userIds: readonly number[]): Promise<IM.BaseDefine.UserTokenInfo.$Properties[]> {
    this.calls.push([...userIds]);
    if (this.failing) throw new Error('db-proxy unavailable');
    return userIds.flatMap((id) => this.byUser.get(id) ?? []);
  }
}

const ALICE = 11;
const BOB = 12;
const CAROL = 13;
const tokenOf = (userId: number, userType: number, token: string) => ({ userId, userType, token, pushCount: 2, pushType: 1 });

function envelope(from: number, to: number, msgId: number, msgType = MSG_TYPE_SINGLE_TEXT, text = 'hello'): tiertalk.Envelope.$Properties {
  const body = IM.Message.IMMsgData.encode({
    fromUserId: from,
    toSessionId: to,
    msgId,
    createTime: 1_700_000_000 + msgId,
    msgType,
    msgData: msgType === MSG_TYPE_SINGLE_AUDIO ? Buffer.from([0, 0, 0, 3, 1, 2, 3]) : encryptContent(text, AES_KEY),
  }).finish();
  const group = msgType === MSG_TYPE_GROUP_TEXT;
  return {
    commandId: CID.CID_MSG_DATA,
    body,
    toUserIds: [to, from],
    kind: group ? MESSAGE_KIND_GROUP : MESSAGE_KIND_SINGLE,
    msgId,
    fromUserId: from,
    toSessionId: to,
    originGatewayId: 'gw-1',
    originConnId: 7,
  };
}

const offline = new Map<number, readonly unknown[]>();
let peer: WebhookPeer;
let tokens: MemoryTokens;
let notifier: OfflinePushNotifier | undefined;

const baseOptions = (): OfflinePushOptions => ({
  webhookUrl: peer.url,
  tokens,
  logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  queueMax: 100,
  maxAttempts: 4,
  retryBaseMs: 20,
  retryMaxMs: 200,
  timeoutMs: 2000,
  concurrency: 4,
  lookupBatchMax: 50,
  aesKey: AES_KEY,
});

function start(overrides: Partial<OfflinePushOptions> = {}): OfflinePushNotifier {
  notifier = new OfflinePushNotifier({ ...baseOptions(), ...overrides });
  return notifier;
}

beforeEach(async () => {
  peer = new WebhookPeer();
  await peer.start();
  tokens = new MemoryTokens(
    new Map([
      [BOB, [tokenOf(BOB, CLIENT_TYPE_IOS, 'apns-bob')]],
      [ALICE, [tokenOf(ALICE, CLIENT_TYPE_ANDROID, 'fcm-alice')]],
    ]),
  );
});
afterEach(async () => {
  notifier?.close();
  notifier = undefined;
  await Promise.all(routes.splice(0).map((r) => r.close()));
  await peer.stop();
});

describe('offline push webhook', () => {
  it('posts one event per message to an offline receiver, with its tokens and the decrypted text', async () => {
    const n = start();
    n.offer([envelope(ALICE, BOB, 1, MSG_TYPE_SINGLE_TEXT, '晚上好 bob')], offline);
    await n.idle();
    expect(peer.received).toEqual([
      {
        type: 'message',
        toUserId: BOB,
        fromUserId: ALICE,
        msgId: 1,
        msgType: MSG_TYPE_SINGLE_TEXT,
        createTime: 1_700_000_001,
        flash: '晚上好 bob',
        tokens: [{ token: 'apns-bob', clientType: CLIENT_TYPE_IOS, pushType: 1, pushCount: 2 }],
      },
    ]);
    expect(n.stats).toMatchObject({ offered: 1, posted: 1, failed: 0, dropped: 0 });
  });

  it('posts nothing for an online receiver, other commands, group messages or a receiver without tokens', async () => {
    const n = start();
    const online = new Map<number, readonly unknown[]>([[BOB, [{ gatewayId: 'gw-1' }]]]);
    n.offer([envelope(ALICE, BOB, 1)], online);
    n.offer([{ commandId: CID.CID_MSG_READ_NOTIFY, body: Buffer.from([]), toUserIds: [BOB] }], offline);
    n.offer([envelope(ALICE, BOB, 3, MSG_TYPE_GROUP_TEXT)], offline);
    n.offer([envelope(ALICE, CAROL, 4)], offline);
    await n.idle();
    expect(peer.received).toEqual([]);
    expect(n.stats).toMatchObject({ posted: 0, withoutToken: 1 });
  });

  it('takes 1:1 messages by their kind, not by how many receivers they list', async () => {
    const n = start();
    // A 1:1 message naming only its receiver, and a group of exactly two members (like a 1:1 [to, from]).
    n.offer([{ ...envelope(ALICE, BOB, 1), toUserIds: [BOB] }, { ...envelope(ALICE, 900, 2, MSG_TYPE_GROUP_TEXT), toUserIds: [BOB, ALICE] }], offline);
    await n.idle();
    expect(peer.received.map((e) => [e.toUserId, e.msgId])).toEqual([[BOB, 1]]);
    expect(n.stats).toMatchObject({ offered: 1, posted: 1 });
  });

  it('batches the token lookups of one delivery batch and marks audio as [voice]', async () => {
    const n = start();
    n.offer([envelope(ALICE, BOB, 5), envelope(BOB, ALICE, 6, MSG_TYPE_SINGLE_AUDIO), envelope(ALICE, BOB, 7)], offline);
    await n.idle();
    expect(tokens.calls).toEqual([[BOB, ALICE]]);
    expect(peer.received.map((e) => [e.msgId, e.toUserId, e.flash]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [5, BOB, 'hello'],
      [6, ALICE, '[voice]'],
      [7, BOB, 'hello'],
    ]);
  });

  it("says which class of connection the sender sent from; nothing when no client connection sent it", async () => {
    const n = start();
    n.offer(
      [
        { ...envelope(ALICE, BOB, 1), fromClientClass: CLIENT_CLASS_MOBILE },
        { ...envelope(ALICE, BOB, 2), fromClientClass: CLIENT_CLASS_PC },
        // The HTTP API (no sending connection), or an older gateway.
        envelope(ALICE, BOB, 3),
      ],
      offline,
    );
    await n.idle();
    const byMsg = new Map(peer.received.map((e) => [e.msgId, e]));
    expect(byMsg.get(1)).toMatchObject({ msgId: 1, fromClientClass: 'mobile' });
    expect(byMsg.get(2)).toMatchObject({ msgId: 2, fromClientClass: 'pc' });
    expect(byMsg.get(3)).toMatchObject({ msgId: 3 });
    expect(Object.hasOwn(byMsg.get(3) ?? {}, 'fromClientClass')).toBe(false);
  });

  it('leaves flash out without TT_AES_KEY', async () => {
    const n = start({ aesKey: undefined });
    n.offer([envelope(ALICE, BOB, 1)], offline);
    await n.idle();
    expect(peer.received).toHaveLength(1);
    expect(peer.received[0].flash).toBeUndefined();
  });

  it('retries after 500s with backoff until the webhook accepts', async () => {
    peer.respond = (nth) => (nth <= 2 ? 500 : 200);
    const n = start();
    const started = Date.now();
    n.offer([envelope(ALICE, BOB, 9)], offline);
    await n.idle();
    expect(peer.received.map((e) => e.msgId)).toEqual([9, 9, 9]);
    expect(n.stats).toMatchObject({ posted: 1, failed: 0 });
    // 20 ms then 40 ms (±20 %) between the attempts
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('gives up after maxAttempts, and at once on a 4xx refusal', async () => {
    peer.respond = () => 503;
    const n = start({ maxAttempts: 3 });
    n.offer([envelope(ALICE, BOB, 1)], offline);
    await n.idle();
    expect(peer.received).toHaveLength(3);
    expect(n.stats).toMatchObject({ posted: 0, failed: 1 });

    peer.respond = () => 400;
    n.offer([envelope(ALICE, BOB, 2)], offline);
    await n.idle();
    expect(peer.received).toHaveLength(4);
    expect(n.stats).toMatchObject({ posted: 0, failed: 2 });
  });

  it('retries when the webhook is unreachable', async () => {
    const n = start({ webhookUrl: 'http://127.0.0.1:1/push', maxAttempts: 2 });
    n.offer([envelope(ALICE, BOB, 1)], offline);
    await n.idle();
    expect(n.stats).toMatchObject({ posted: 0, failed: 1 });
  });

  it('holds at most queueMax messages: the rest are dropped and counted, delivery never waits', async () => {
    peer.respond = () => 'hang';
    const n = start({ queueMax: 5, concurrency: 2 });
    const batch = Array.from({ length: 20 }, (_, i) => envelope(ALICE, BOB, i + 1));
    const t0 = process.hrtime.bigint();
    n.offer(batch, offline);
    const offerMs = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(offerMs).toBeLessThan(50);
    expect(n.stats).toMatchObject({ offered: 20, dropped: 15 });
    expect(n.backlog).toBe(5);
    // the webhook is stuck: more offers are dropped too
    await waitUntil(() => peer.received.length === 2);
    n.offer([envelope(ALICE, BOB, 99)], offline);
    expect(n.stats.dropped).toBe(16);
    peer.respond = () => 200;
    peer.releaseHanging(200);
    await n.idle();
    expect(n.stats).toMatchObject({ posted: 5, dropped: 16 });
    expect(new Set(peer.received.map((e) => e.msgId))).toEqual(new Set([1, 2, 3, 4, 5]));
  });

  it('counts messages whose tokens cannot be fetched as failed', async () => {
    tokens.failing = true;
    const n = start();
    n.offer([envelope(ALICE, BOB, 1), envelope(ALICE, BOB, 2)], offline);
    await n.idle();
    expect(peer.received).toEqual([]);
    expect(n.stats).toMatchObject({ failed: 2 });
  });

  it('close() aborts in-flight posts and drops what waits', async () => {
    peer.respond = () => 'hang';
    const n = start({ concurrency: 1 });
    n.offer([envelope(ALICE, BOB, 1), envelope(ALICE, BOB, 2)], offline);
    await waitUntil(() => peer.received.length === 1);
    n.close();
    await n.idle();
    expect(n.stats.dropped).toBe(2);
    expect(n.backlog).toBe(0);
  });
});

/** Route instances' durable notifiers started by a test (closed after it). */
const routes: OfflinePush[] = [];

function startDurable(consumer: string, overrides: Partial<DurableOfflinePushOptions> = {}): OfflinePush {
  const push = createDurableOfflinePush({
    ...baseOptions(),
    redisUrl: redisDb.url,
    streamKey: STREAM,
    consumer,
    queueMax: 1000,
    claimIdleMs: 1000,
    holdMax: 50,
    ...overrides,
  });
  routes.push(push);
  return push;
}

/** Stops an instance as a kill would: in-flight POSTs abandoned, nothing drained or handed over. */
async function kill(push: OfflinePush): Promise<void> {
  routes.splice(routes.indexOf(push), 1);
  await push.close({ handOver: false });
}

const msgIds = (from = 0): number[] => peer.received.slice(from).map((e) => Number(e.msgId));
const range = (first: number, n: number): number[] => Array.from({ length: n }, (_, i) => first + i);

describe('durable offline-push queue (Redis Stream)', () => {
  let redis: Redis;
  const queued = async (): Promise<number> => redis.xlen(STREAM);
  const pendingOf = async (): Promise<Record<string, number>> => {
    const [, , , consumers] = (await redis.xpending(STREAM, PUSH_GROUP)) as [number, unknown, unknown, Array<[string, string]> | null];
    return Object.fromEntries((consumers ?? []).map(([name, n]) => [name, Number(n)]));
  };
  const drained = async (): Promise<boolean> => (await queued()) === 0 && Object.keys(await pendingOf()).length === 0;

  beforeAll(() => {
    redis = new Redis(redisDb.url);
  });
  beforeEach(async () => {
    await redis.flushdb();
  });
  afterAll(() => redis.disconnect());

  it('queues each Deliver batch in Redis and posts every push once; the stream is empty afterwards', async () => {
    const a = startDurable('route-a');
    const t0 = process.hrtime.bigint();
    a.notifier.offer(range(1, 100).map((id) => envelope(ALICE, BOB, id)), offline);
    // offer() never waits for Redis
    expect(Number(process.hrtime.bigint() - t0) / 1e6).toBeLessThan(50);
    a.notifier.offer([envelope(BOB, ALICE, 101)], offline);
    await waitFor(() => peer.received.length >= 101, 15_000);
    await waitFor(drained, 5000);
    expect(msgIds().sort((x, y) => x - y)).toEqual(range(1, 101));
    expect(a.notifier.stats).toMatchObject({ offered: 101, queued: 101, posted: 101, queueErrors: 0, dropped: 0 });
  });

  it('a route killed before the webhook answered: another instance takes its pushes over, none lost', async () => {
    peer.respond = () => 'hang';
    const a = startDurable('route-a', { concurrency: 2 });
    a.notifier.offer(range(1, 10).map((id) => envelope(ALICE, BOB, id)), offline);
    await waitFor(() => peer.received.length === 2, 3000);
    const inFlight = new Set(msgIds());
    await kill(a);
    // everything is still queued, pending on the dead consumer
    expect(await pendingOf()).toEqual({ 'route-a': 10 });

    peer.respond = () => 200;
    peer.releaseHanging(200);
    const killedAt = peer.received.length;
    const b = startDurable('route-b');
    await waitFor(() => new Set(msgIds(killedAt)).size === 10, 10_000);
    await waitFor(drained, 5000);
    expect(new Set(msgIds(killedAt))).toEqual(new Set(range(1, 10)));
    expect(msgIds(killedAt)).toHaveLength(10);
    // duplicates at most for what was in flight when killed, each carrying (toUserId, fromUserId, msgId)
    const twice = msgIds().filter((id, i, all) => all.indexOf(id) !== i);
    for (const id of twice) expect(inFlight.has(id)).toBe(true);
    expect(b.consumer.stats.claimed).toBe(10);
    expect(b.notifier.stats.posted).toBe(10);
  });

  it('a route restarted under the same instance id re-reads its own pending pushes at once', async () => {
    peer.respond = () => 'hang';
    const a = startDurable('route-a', { concurrency: 1, claimIdleMs: 600_000 });
    a.notifier.offer(range(1, 5).map((id) => envelope(ALICE, BOB, id)), offline);
    await waitFor(() => peer.received.length === 1, 3000);
    await kill(a);
    peer.respond = () => 200;
    const killedAt = peer.received.length;
    // the claim idle time is far away: only the own-pending read can find them
    startDurable('route-a', { claimIdleMs: 600_000 });
    await waitFor(() => new Set(msgIds(killedAt)).size === 5, 10_000);
    await waitFor(drained, 5000);
    expect(msgIds(killedAt).sort((x, y) => x - y)).toEqual(range(1, 5));
  });

  it('a route shut down gracefully hands its unfinished pushes over at once', async () => {
    peer.respond = () => 'hang';
    const a = startDurable('route-a', { concurrency: 2, claimIdleMs: 600_000 });
    a.notifier.offer(range(1, 10).map((id) => envelope(ALICE, BOB, id)), offline);
    await waitFor(() => peer.received.length === 2, 3000);
    routes.splice(routes.indexOf(a), 1);
    await a.close();
    // requeued as new entries: nothing pending on route-a
    expect(await pendingOf()).toEqual({});
    expect(await queued()).toBe(10);

    peer.respond = () => 200;
    const closedAt = peer.received.length;
    // the claim idle time is far away: only the hand-over makes them readable at once
    const b = startDurable('route-b', { claimIdleMs: 600_000 });
    await waitFor(() => new Set(msgIds(closedAt)).size === 10, 10_000);
    await waitFor(drained, 5000);
    expect(msgIds(closedAt).sort((x, y) => x - y)).toEqual(range(1, 10));
    expect(b.consumer.stats).toMatchObject({ read: 10, claimed: 0 });
  });

  it('two live instances share the stream: each push is posted exactly once', async () => {
    const a = startDurable('route-a');
    const b = startDurable('route-b');
    for (let batch = 0; batch < 8; batch += 1) {
      (batch % 2 === 0 ? a : b).notifier.offer(range(batch * 20 + 1, 20).map((id) => envelope(ALICE, BOB, id)), offline);
    }
    await waitFor(() => peer.received.length >= 160, 15_000);
    await waitFor(drained, 5000);
    // acknowledged everywhere: nothing can be posted again
    expect(msgIds().sort((x, y) => x - y)).toEqual(range(1, 160));
    expect(a.consumer.stats.read + b.consumer.stats.read).toBe(160);
    expect(a.consumer.stats.claimed + b.consumer.stats.claimed).toBe(0);
  });

  it('the live instance retrying a push keeps it: no other instance claims it meanwhile', async () => {
    // 2 refusals with 1200 and 1500 ms (±20 %) between: longer than the 1000 ms claim idle time
    peer.respond = (nth) => (nth <= 2 ? 503 : 200);
    const a = startDurable('route-a', { retryBaseMs: 1200, retryMaxMs: 1500, maxAttempts: 5 });
    const b = startDurable('route-b', { retryBaseMs: 1200, retryMaxMs: 1500, maxAttempts: 5 });
    // whichever instance reads it retries it alone
    a.notifier.offer([envelope(ALICE, BOB, 1)], offline);
    const posted = (): number => a.notifier.stats.posted + b.notifier.stats.posted;
    await waitFor(() => posted() === 1, 15_000);
    await waitFor(drained, 5000);
    expect(msgIds()).toEqual([1, 1, 1]);
    expect(a.consumer.stats.read + b.consumer.stats.read).toBe(1);
    expect(a.consumer.stats.claimed + b.consumer.stats.claimed).toBe(0);
  });

  it('keeps a batch in memory and posts it when Redis is unreachable', async () => {
    const a = startDurable('route-a', { redisUrl: 'redis://127.0.0.1:1/0' });
    a.notifier.offer([envelope(ALICE, BOB, 1), envelope(ALICE, BOB, 2)], offline);
    await waitFor(() => a.notifier.stats.posted === 2, 5000);
    expect(msgIds().sort()).toEqual([1, 2]);
    expect(a.notifier.stats).toMatchObject({ offered: 2, queued: 0, queueErrors: 1, dropped: 0 });
  });

  it('after Redis lost the stream and its group (restart), recreates them and posts what is offered', async () => {
    const a = startDurable('route-a');
    a.notifier.offer([envelope(ALICE, BOB, 1)], offline);
    await waitFor(() => peer.received.length === 1, 5000);
    await redis.flushdb();
    a.notifier.offer([envelope(ALICE, BOB, 2)], offline);
    await waitFor(() => peer.received.length === 2, 10_000);
    await waitFor(drained, 5000);
    expect(msgIds()).toEqual([1, 2]);
  });

  it("keeps the sender's class through the queue, and posts an older route's entries (no class) as before", async () => {
    const a = startDurable('route-a');
    a.notifier.offer([{ ...envelope(ALICE, BOB, 1), fromClientClass: CLIENT_CLASS_MOBILE }], offline);
    await waitFor(() => peer.received.length === 1, 5000);
    // An entry as a route from before from_class wrote it.
    await redis.xadd(STREAM, '*', 'to', String(BOB), 'body', Buffer.from(envelope(ALICE, BOB, 2).body));
    await waitFor(() => peer.received.length === 2, 5000);
    await waitFor(drained, 5000);
    expect(peer.received[0]).toMatchObject({ msgId: 1, toUserId: BOB, fromClientClass: 'mobile' });
    expect(peer.received[1]).toMatchObject({ msgId: 2, toUserId: BOB });
    expect(Object.hasOwn(peer.received[1], 'fromClientClass')).toBe(false);
    expect(a.notifier.stats).toMatchObject({ posted: 2, failed: 0 });
  });

  it('writes the class field only for a message that has a class (a decoded envelope reads unset as 0)', async () => {
    peer.respond = () => 'hang';
    const a = startDurable('route-a');
    const decoded = tiertalk.Envelope.decode(tiertalk.Envelope.encode(envelope(ALICE, BOB, 1)).finish());
    a.notifier.offer([decoded, { ...envelope(ALICE, BOB, 2), fromClientClass: CLIENT_CLASS_PC }], offline);
    await waitFor(() => peer.received.length === 2, 5000);
    const entries = await redis.xrange(STREAM, '-', '+');
    expect(entries.map(([, fields]) => fields.filter((_, i) => i % 2 === 0))).toEqual([['to', 'body'], ['to', 'body', 'from_class']]);
  });

  it('removes consumers that hold nothing and were not seen for long, and keeps those that hold entries', async () => {
    const stream = new PushStream(redis, STREAM, 1000);
    await stream.ensureGroup();
    await stream.append([{ toUserId: BOB, body: new Uint8Array([1]) }]);
    await stream.read(redis, 'route-holding', 10, '>');
    for (const name of ['route-gone', 'route-self']) await redis.call('XGROUP', 'CREATECONSUMER', STREAM, PUSH_GROUP, name);
    expect(await stream.pruneConsumers('route-self', 0)).toBe(1);
    const names = ((await redis.call('XINFO', 'CONSUMERS', STREAM, PUSH_GROUP)) as unknown[][]).map((c) => String(c[1]));
    expect(names.sort()).toEqual(['route-holding', 'route-self']);
  });

  it('is bounded by queueMax (approximate trim): what is trimmed is counted', async () => {
    peer.respond = () => 'hang';
    const a = startDurable('route-a', { queueMax: 100, holdMax: 10, concurrency: 1 });
    for (let batch = 0; batch < 6; batch += 1) {
      a.notifier.offer(range(batch * 100 + 1, 100).map((id) => envelope(ALICE, BOB, id)), offline);
      await waitFor(() => a.notifier.stats.queued === (batch + 1) * 100, 3000);
    }
    const left = await queued();
    expect(a.notifier.stats.trimmed).toBeGreaterThan(0);
    // nothing was acknowledged (the webhook hangs): every push is either still queued or counted as trimmed
    expect(a.notifier.stats.trimmed + left).toBe(600);
    expect(left).toBeLessThanOrEqual(200);
  });
});

describe('durable offline-push queue on a Redis Cluster (TT_SESSION_REDIS_URL=redis-cluster://...)', () => {
  let redisCluster: PrivateRedisCluster;
  let client: Cluster;

  beforeAll(async () => {
    redisCluster = await PrivateRedisCluster.start();
    client = new Cluster(redisCluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await redisCluster?.destroy();
  });

  it('queues, claims from a killed instance and posts every push once; the stream and its pending list end empty', async () => {
    peer.respond = (n) => (n < 10 ? 'hang' : 200);
    const a = startDurable('route-a', { redisUrl: redisCluster.url(), holdMax: 10 });
    a.notifier.offer(range(1, 50).map((id) => envelope(ALICE, BOB, id)), offline);
    await waitFor(() => peer.received.length >= 10, 10_000);
    await kill(a);
    const b = startDurable('route-b', { redisUrl: redisCluster.url() });
    await waitFor(() => new Set(msgIds()).size === 50, 15_000);
    await waitFor(async () => {
      if ((await client.xlen(STREAM)) !== 0) return false;
      const [pending] = (await client.xpending(STREAM, PUSH_GROUP)) as [number];
      return Number(pending) === 0;
    }, 5000);
    expect([...new Set(msgIds())].sort((x, y) => x - y)).toEqual(range(1, 50));
    expect(b.notifier.stats.queueErrors).toBe(0);
  });
});

async function waitUntil(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
