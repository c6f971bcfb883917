import * as grpc from '@grpc/grpc-js';
import { FlowControlledWriter, bindServer, createClient, createServer, insecureLoopback, openBidi } from './index';

// A bidi method carrying { seq, pad } as JSON; the server reads only once released.
interface Item {
  seq: number;
  pad: string;
}
const json = {
  ser: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)),
  de: (b: Buffer): Item => JSON.parse(b.toString('utf8')) as Item,
};
const Sink: grpc.MethodDefinition<Item, Item> = {
  path: '/tiertalk.test.Flow/Sink',
  requestStream: true,
  responseStream: true,
  requestSerialize: json.ser,
  requestDeserialize: json.de,
  responseSerialize: json.ser,
  responseDeserialize: json.de,
};

const PAD = 'x'.repeat(16 * 1024);
const TOTAL = 400; // ~6.5 MB: far beyond the HTTP/2 windows and the stream's buffer

describe('FlowControlledWriter on a real gRPC stream whose server does not read', () => {
  let server: grpc.Server;
  let client: grpc.Client;
  let serverCall: grpc.ServerDuplexStream<Item, Item> | undefined;
  const callArrived: Array<() => void> = [];

  beforeAll(async () => {
    server = createServer({ security: insecureLoopback() });
    server.addService(
      { Sink },
      {
        // No 'data' listener yet: the request stream stays paused, so HTTP/2 flow control holds the client.
        Sink: (call: grpc.ServerDuplexStream<Item, Item>) => {
          serverCall = call;
          for (const f of callArrived.splice(0)) f();
        },
      },
    );
    const port = await bindServer(server, '127.0.0.1', 0);
    client = createClient(`127.0.0.1:${port}`, insecureLoopback(), 'flow');
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('stops writing at the high-water mark and, after drain, writes the rest without losing or reordering any', async () => {
    const call = openBidi(client, Sink);
    const arrived = new Promise<void>((resolve) => callArrived.push(resolve));
    let written = 0;
    let writesWhileBlocked = 0;
    let lastWriteResult = true;
    const counted = {
      write: (m: Item): boolean => {
        written += 1;
        if (writer.isBlocked) writesWhileBlocked += 1;
        lastWriteResult = call.write(m);
        return lastWriteResult;
      },
      once: (event: 'drain', listener: () => void) => call.once(event, listener),
    };
    const writer = new FlowControlledWriter(counted);
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (let seq = 0; seq < TOTAL; seq++) writer.write({ seq, pad: PAD });
    // The stream refused at its high-water mark and nothing more went to it: the rest waits here.
    expect(writer.isBlocked).toBe(true);
    expect(lastWriteResult).toBe(false);
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(TOTAL);
    expect(writer.waiting).toBe(TOTAL - written);
    await arrived;

    // The server reads: the stream drains and everything arrives, in order.
    const seen: number[] = [];
    const done = new Promise<void>((resolve) => {
      serverCall!.on('data', (m: Item) => {
        seen.push(m.seq);
        if (seen.length === TOTAL) resolve();
      });
    });
    await done;
    expect(writesWhileBlocked).toBe(0);
    expect(seen).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
    expect(written).toBe(TOTAL);
    expect(writer.waiting).toBe(0);
    const closed = new Promise((resolve) => call.on('status', resolve));
    call.resume();
    call.end();
    serverCall!.end();
    await expect(closed).resolves.toMatchObject({ code: grpc.status.OK });
  });
});
