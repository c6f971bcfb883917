// RouteLink's Deliver stream against a fake route over real gRPC, registered
// in the real etcd (unique prefix): back-pressure from a route that does not read.
import { randomBytes } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { CID, RouteService, tiertalk } from '@tiertalk/proto';
import type { DeliverReport, EnvelopeBatch } from '@tiertalk/proto';
import { createLogger } from '@tiertalk/log';
import { Registry } from '@tiertalk/registry';
import type { Registration, ServiceWatch } from '@tiertalk/registry';
import { InstancePool, bindServer, createServer, insecureLoopback } from '@tiertalk/rpc';
import { waitFor } from '@tiertalk/testkit';
import { RouteLink } from './route-link';

const ETCD = process.env.TT_TEST_ETCD ?? 'http://127.0.0.1:2379';
const log = createLogger({ service: 'route-link-test', instanceId: 't', level: process.env.TT_TEST_LOG_LEVEL ?? 'silent' });

/** A route whose Deliver streams are read only once resumeReading() is called. */
class PausedRoute {
  /** The sequence number (first four bytes of the body) of every envelope received, in order. */
  readonly seen: number[] = [];
  private waiting: Array<() => void> | undefined = [];
  private server: grpc.Server | undefined;
  registration: Registration | undefined;

  async start(registry: Registry): Promise<void> {
    const server = createServer({ security: insecureLoopback() });
    server.addService(RouteService, {
      Deliver: (call: grpc.ServerDuplexStream<EnvelopeBatch, DeliverReport>) => {
        const read = (): void => {
          call.on('data', (batch: EnvelopeBatch) => {
            for (const e of batch.items) this.seen.push(Buffer.from(e.body).readUInt32BE(0));
            call.write(tiertalk.DeliverReport.create({ envelopes: batch.items.length, pushes: 0 }));
          });
          call.on('end', () => call.end());
        };
        if (this.waiting) this.waiting.push(read);
        else read();
      },
    });
    this.server = server;
    const port = await bindServer(server, '127.0.0.1', 0);
    this.registration = await registry.register({ id: 'route-a', service: 'route', addr: `127.0.0.1:${port}`, load: 0, meta: {} });
  }

  resumeReading(): void {
    const waiting = this.waiting ?? [];
    this.waiting = undefined;
    for (const read of waiting) read();
  }

  async stop(): Promise<void> {
    this.server?.forceShutdown();
    await this.registration?.deregister();
  }
}

describe('RouteLink over real gRPC and etcd', () => {
  let registry: Registry;
  let watch: ServiceWatch;
  let pool: InstancePool;
  let link: RouteLink;
  let route: PausedRoute;

  beforeEach(async () => {
    registry = await Registry.connect({ endpoints: [ETCD], prefix: `/tt-test-route-link-${randomBytes(4).toString('hex')}`, leaseTtlSec: 2, logger: log });
    watch = await registry.watch('route');
    pool = new InstancePool(watch, { security: insecureLoopback(), logger: log });
    route = new PausedRoute();
    await route.start(registry);
    await waitFor(() => pool.get('route-a') !== undefined, 3000, { intervalMs: 5, what: 'route in the pool' });
    link = new RouteLink(pool, { deadlineMs: 1000, batchMax: 64, logger: log });
  });

  afterEach(async () => {
    link.close();
    pool.close();
    await route.stop();
    await watch.close();
    await registry.close();
  });

  it('stops writing to a route that does not read, and delivers the rest in order once it drains', async () => {
    // 25 batches of 64 envelopes of 4 KiB: far beyond the HTTP/2 windows and the stream's buffer.
    const total = 1600;
    for (let seq = 0; seq < total; seq++) {
      const body = Buffer.alloc(4096);
      body.writeUInt32BE(seq, 0);
      link.deliver({ commandId: CID.CID_MSG_DATA, body, toUserIds: [1] });
    }
    await waitFor(() => link.batchesAwaitingDrain > 0, 3000, { intervalMs: 5, what: 'envelope batches held for drain' });
    route.resumeReading();
    await waitFor(() => route.seen.length >= total && link.held === 0, 10_000, { intervalMs: 5, what: 'every envelope delivered and reported' });
    expect(route.seen).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(link.batchesAwaitingDrain).toBe(0);
  });
});
