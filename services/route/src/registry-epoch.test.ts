import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { createLogger } from '@tiertalk/log';
import { IM } from '@tiertalk/proto';
import { redisDbsForFile, waitFor } from '@tiertalk/testkit';
import { RegistryEpoch } from './registry-epoch';
import { SessionStore } from './session-store';

// Real Redis (style.md: no mocks of it). The "gateway" answers route's resync
// request the way services/msg session-sync does: with Route.SyncSessions,
// here straight into the store.
// A db of the test Redis claimed for this file, so no other test file or run shares it.
const redisDb = redisDbsForFile({ beforeAll, afterAll });
const PC = IM.BaseDefine.ClientType.CLIENT_TYPE_WINDOWS;
const logger = createLogger({ service: 'route-test', instanceId: 'route-test', level: 'silent' });

describe('RegistryEpoch', () => {
  let redis: Redis;
  let prefix: string;
  let store: SessionStore;
  let epoch: RegistryEpoch | undefined;

  beforeAll(() => {
    redis = new Redis(redisDb.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(() => {
    prefix = `tt:test:${randomBytes(5).toString('hex')}:`;
    store = new SessionStore(redis, prefix);
  });
  // Syncs the stub gateways started: finished before the keys are cleaned up and the connection closes.
  const syncs: Promise<unknown>[] = [];
  afterEach(async () => {
    epoch?.close();
    epoch = undefined;
    await Promise.all(syncs.splice(0));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  });

  /** A gateway holding one session that syncs when asked, after `answer` resolves. */
  function gateway(answer: () => Promise<void>) {
    const asks: number[] = [];
    return {
      asks,
      requestSessionResync(): string[] {
        asks.push(Date.now());
        const answered = answer();
        // A gateway that never answers (a pending promise) is not waited for.
        void answered.then(() => {
          syncs.push(store.syncGateway('gw-a@1', [{ gatewayId: 'gw-a@1', connId: 1, userId: 7, clientType: PC }]));
        });
        return ['gw-a@1'];
      },
    };
  }

  it('adopts an existing epoch at start without asking for a resync', async () => {
    await store.claimEpoch('existing');
    const gw = gateway(() => Promise.resolve());
    epoch = new RegistryEpoch({ redis, store, links: gw, logger, checkIntervalMs: 60_000 });
    epoch.start();
    await epoch.whenRegistryReady();
    expect(epoch.epoch).toBe('existing');
    expect(gw.asks).toEqual([]);
  });

  it('detects a lost registry, asks the gateways to sync and holds deliveries until they did', async () => {
    await store.claimEpoch('before');
    let letGatewayAnswer: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => {
      letGatewayAnswer = resolve;
    });
    const gw = gateway(() => answered);
    epoch = new RegistryEpoch({ redis, store, links: gw, logger, checkIntervalMs: 60_000, maxWaitMs: 30_000 });
    epoch.start();
    await epoch.whenRegistryReady();

    // Redis restarted empty: every key is gone, the epoch with them.
    const keys = await redis.keys(`${prefix}*`);
    await redis.del(...keys);
    // check() resolves only once the resync is over: run it, and watch for the request.
    const checked = epoch.check();
    await waitFor(() => gw.asks.length === 1, 5_000);
    const newEpoch = await store.readEpoch();
    expect(newEpoch).not.toBeNull();
    expect(newEpoch).not.toBe('before');

    let ready = false;
    void epoch.whenRegistryReady().then(() => {
      ready = true;
    });
    // The wait is not over while the gateway has not synced: a marker promise that resolves later must come first.
    await new Promise((r) => setImmediate(r));
    expect(ready).toBe(false);
    letGatewayAnswer();
    await waitFor(() => ready, 5_000);
    await checked;
    expect((await store.lookup([7])).get(7)).toEqual([{ gatewayId: 'gw-a@1', connId: 1, clientType: PC }]);
    expect(epoch.epoch).toBe(newEpoch);
  });

  it('stops holding deliveries after the wait bound when a gateway never syncs', async () => {
    await store.claimEpoch('before');
    const gw = gateway(() => new Promise(() => undefined));
    epoch = new RegistryEpoch({ redis, store, links: gw, logger, checkIntervalMs: 60_000, maxWaitMs: 300 });
    epoch.start();
    await epoch.whenRegistryReady();
    await redis.del(store.epochKey());
    const checked = epoch.check();
    await epoch.whenRegistryReady();
    await checked;
    expect(gw.asks).toHaveLength(1);
  });

  it('a second route adopts the epoch the first one set and asks for a resync too', async () => {
    const first = new RegistryEpoch({ redis, store, links: gateway(() => Promise.resolve()), logger, checkIntervalMs: 60_000 });
    const otherGw = gateway(() => Promise.resolve());
    const second = new RegistryEpoch({ redis, store, links: otherGw, logger, checkIntervalMs: 60_000 });
    try {
      first.start();
      await first.whenRegistryReady();
      second.start();
      await second.whenRegistryReady();
      expect(second.epoch).toBe(first.epoch);
      expect(otherGw.asks).toEqual([]);
      await redis.del(store.epochKey());
      await first.check();
      await second.check();
      expect(second.epoch).toBe(first.epoch);
      expect(otherGw.asks).toHaveLength(1);
    } finally {
      first.close();
      second.close();
    }
  });
});
