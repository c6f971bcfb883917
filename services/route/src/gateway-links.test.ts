import { randomBytes } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import Redis from 'ioredis';
import { createLogger } from '@tiertalk/log';
import { CID, GatewayService, type PushAck, type PushBatch } from '@tiertalk/proto';
import { Registry, type Registration } from '@tiertalk/registry';
import { bindServer, createServer, insecureLoopback } from '@tiertalk/rpc';
import { GatewayLinks } from './gateway-links';
import { SessionStore } from './session-store';
import { redisDbsForFile } from '@tiertalk/testkit';

// A gateway that stops reading: route must keep unacknowledged batches
// (bounded) and drop the oldest instead of growing without limit. Real etcd and Redis.
// A db of the test Redis claimed for this file, so no other test file or run shares it.
const redisDb = redisDbsForFile({ beforeAll, afterAll });
const ETCD = (process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379').split(',');

describe('GatewayLinks backpressure', () => {
  let redis: Redis;
  let registry: Registry;
  let links: GatewayLinks;
  let server: grpc.Server;
  let registration: Registration;
  let received = 0;
  let streams = 0;
  const pausedCalls: grpc.ServerDuplexStream<PushBatch, PushAck>[] = [];

  beforeAll(async () => {
    const logger = createLogger({ service: 'route-test', instanceId: 'route-test', level: 'silent' });
    redis = new Redis(redisDb.url, { maxRetriesPerRequest: 1 });
    const store = new SessionStore(redis, `tt:test:${randomBytes(5).toString('hex')}:`);
    registry = await Registry.connect({ endpoints: ETCD, prefix: `/tiertalk-test-route-${randomBytes(5).toString('hex')}`, leaseTtlSec: 5, logger });
    server = createServer({ security: insecureLoopback() });
    server.addService(GatewayService, {
      Push: (call: grpc.ServerDuplexStream<PushBatch, PushAck>) => {
        streams += 1;
        pausedCalls.push(call);
        call.on('data', () => {
          received += 1;
        });
        call.on('error', () => undefined);
        call.pause();
      },
    });
    const port = await bindServer(server, '127.0.0.1', 0);
    registration = await registry.register({ id: 'gw-slow', service: 'msg', addr: `127.0.0.1:${port}`, load: 0, meta: {} });
    links = new GatewayLinks({ registry, store, logger, security: insecureLoopback(), sweepIntervalMs: 60_000, maxQueuedBatches: 50 });
    await links.start();
  });

  afterAll(async () => {
    await links?.close();
    server?.forceShutdown();
    await registration?.deregister();
    await registry?.close();
    await redis?.quit();
  });

  it('drops the oldest batches beyond the bound while the gateway does not read', async () => {
    const body = randomBytes(16 * 1024);
    for (let i = 0; i < 400; i++) {
      expect(links.send('gw-slow', [{ commandId: CID.CID_MSG_DATA, body, toUserIds: [i + 1] }])).toBe(true);
      // let the stream open and the HTTP/2 window fill
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(streams).toBe(1);
    expect(links.droppedBatches()).toBeGreaterThan(0);
    // nothing is acknowledged, so at most the bound is kept, written or not
    expect(links.droppedBatches()).toBe(400 - 50);
    expect(links.unacknowledgedBatches()).toBe(50);
    expect(received).toBe(0);
    expect(links.send('gw-unknown', [{ commandId: CID.CID_MSG_DATA, body }])).toBe(false);
  });
});
