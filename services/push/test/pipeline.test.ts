// The pipeline's bounds: requests past TT_PUSH_QUEUE_MAX are shed (counted)
// and never wait; a failed db-proxy lookup drops that round only. The provider
// is the real webhook provider against a local HTTP server; db-proxy's answers
// come from an in-memory table (the cluster e2e test covers the real one).
import pino from 'pino';
import { IM, tiertalk } from '@tiertalk/proto';
import { metricsRegistry } from '@tiertalk/metrics';
import { waitFor } from '@tiertalk/testkit';
import type { PushLookups } from '../src/db-proxy-lookups';
import { loadPushConfig } from '../src/config';
import { providersFromConfig } from '../src/providers/select';
import { PushPipeline } from '../src/push-pipeline';
import { FakeHttp } from './fake-providers';

const ANDROID = 18;

/** Tokens of users 1..99 (Android); `gate` holds every token lookup until opened; `failNext` fails the next one. */
class TableLookups implements PushLookups {
  gate: Promise<void> = Promise.resolve();
  failNext = false;
  async tokensOf(userIds: readonly number[]): Promise<IM.BaseDefine.UserTokenInfo.$Properties[]> {
    await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('db-proxy unreachable');
    }
    return userIds.map((userId) => ({ userId, userType: ANDROID, token: `tok-${userId}`, pushCount: 1, pushType: 1 }));
  }
  async pushShielded(): Promise<Set<number>> {
    return new Set();
  }
  async groupShielded(): Promise<Set<number>> {
    return new Set();
  }
  async clearToken(): Promise<void> {}
}

const message = (from: number, to: number, msgId: number): Uint8Array =>
  IM.Message.IMMsgData.encode({ fromUserId: from, toSessionId: to, msgId, createTime: 1, msgType: IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT, msgData: Buffer.from('x') }).finish();

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric(name)?.get();
  return metric?.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((sum, v) => sum + v.value, 0) ?? 0;
}

let hook: FakeHttp;
beforeAll(async () => {
  hook = await FakeHttp.start();
});
afterAll(() => hook.close());

function pipeline(lookups: PushLookups, queueMax: number): PushPipeline {
  const config = loadPushConfig({ TT_PUSH_ANDROID_PROVIDER: 'webhook', TT_WEBHOOK_URL: hook.url });
  return new PushPipeline({
    lookups,
    providers: providersFromConfig(config),
    logger: pino({ level: 'silent' }),
    queueMax,
    concurrency: 2,
    maxAttempts: 2,
    retryBaseMs: 10,
    retryMaxMs: 20,
  });
}

it('sheds requests past queueMax at once and counts them; the held ones are pushed', async () => {
  const lookups = new TableLookups();
  let open!: () => void;
  lookups.gate = new Promise((resolve) => (open = resolve));
  const p = pipeline(lookups, 3);
  const shedBefore = await counter('tt_push_requests_total', { outcome: 'shed' });
  const mark = hook.requests.length;
  const accepted = [1, 2, 3, 4, 5].map((n) => p.accept({ msg: message(50, n, n), userIds: [n, 50] }));
  expect(accepted).toEqual([true, true, true, false, false]);
  expect((await counter('tt_push_requests_total', { outcome: 'shed' })) - shedBefore).toBe(2);
  open();
  await p.idle();
  expect(hook.requests.slice(mark).map((r) => (JSON.parse(r.body.toString()) as { userId: number }).userId).sort()).toEqual([1, 2, 3]);
  // Room again once they went out.
  expect(p.accept({ msg: message(50, 6, 6), userIds: [6] })).toBe(true);
  await p.idle();
  await p.close(100);
});

it('a failed token lookup drops that round (counted) and the next round goes on; the sender is never pushed', async () => {
  const lookups = new TableLookups();
  const p = pipeline(lookups, 100);
  const failedBefore = await counter('tt_push_skipped_total', { reason: 'lookup_failed' });
  const ownBefore = await counter('tt_push_skipped_total', { reason: 'own_message' });
  lookups.failNext = true;
  p.accept({ msg: message(60, 7, 1), userIds: [7, 60] });
  await p.idle();
  expect((await counter('tt_push_skipped_total', { reason: 'lookup_failed' })) - failedBefore).toBe(1);
  const mark = hook.requests.length;
  p.accept({ msg: message(60, 8, 2), userIds: [8, 60] });
  await waitFor(() => hook.requests.length > mark, 5000);
  await p.idle();
  expect(hook.requests.slice(mark).map((r) => (JSON.parse(r.body.toString()) as { userId: number }).userId)).toEqual([8]);
  expect((await counter('tt_push_skipped_total', { reason: 'own_message' })) - ownBefore).toBe(2);
  await p.close(100);
});

it('an undecodable message is counted invalid, not pushed', async () => {
  const p = pipeline(new TableLookups(), 10);
  const before = await counter('tt_push_requests_total', { outcome: 'invalid' });
  p.accept({ msg: Buffer.from([0xff, 0xff, 0xff]), userIds: [9] });
  await p.idle();
  expect((await counter('tt_push_requests_total', { outcome: 'invalid' })) - before).toBe(1);
  await p.close(100);
});

it("tells the receiver's app where the sender sent it from (data.from_client_class); nothing when route did not say", async () => {
  const p = pipeline(new TableLookups(), 10);
  const mark = hook.requests.length;
  p.accept({ msg: message(70, 11, 1), userIds: [11], fromClientClass: tiertalk.ClientClass.CLIENT_CLASS_MOBILE });
  p.accept({ msg: message(70, 12, 2), userIds: [12], fromClientClass: tiertalk.ClientClass.CLIENT_CLASS_PC });
  p.accept({ msg: message(70, 13, 3), userIds: [13] });
  await waitFor(() => hook.requests.length - mark === 3, 5000);
  await p.idle();
  const dataOf = new Map(
    hook.requests.slice(mark).map((r) => {
      const event = JSON.parse(r.body.toString()) as { userId: number; data: Record<string, string> };
      return [event.userId, event.data];
    }),
  );
  expect(dataOf.get(11)).toEqual({ msg_type: '1', from_id: '70', msg_id: '1', from_client_class: 'mobile' });
  expect(dataOf.get(12)).toMatchObject({ msg_id: '2', from_client_class: 'pc' });
  expect(dataOf.get(13)).toEqual({ msg_type: '1', from_id: '70', msg_id: '3' });
  await p.close(100);
});
