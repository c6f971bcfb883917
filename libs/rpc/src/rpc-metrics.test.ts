import * as grpc from '@grpc/grpc-js';
import { sampleValue } from '@tiertalk/metrics';
import { bindServer, createClient, createServer, insecureLoopback, openBidi, rpcError, unaryCall } from './index';

// A real server and client over loopback: what the interceptors count is what went over the wire.
const codec = {
  ser: (v: { n: number }): Buffer => Buffer.from(JSON.stringify(v)),
  de: (b: Buffer): { n: number } => {
    const v: unknown = JSON.parse(b.toString('utf8'));
    if (typeof v !== 'object' || v === null || !('n' in v) || typeof v.n !== 'number') throw new Error('bad message');
    return { n: v.n };
  },
};
function method(name: string, stream: boolean): grpc.MethodDefinition<{ n: number }, { n: number }> {
  return {
    path: `/tiertalk.test.Metered/${name}`,
    requestStream: stream,
    responseStream: stream,
    requestSerialize: codec.ser,
    requestDeserialize: codec.de,
    responseSerialize: codec.ser,
    responseDeserialize: codec.de,
  };
}
const Double = method('Double', false);
const Echo = method('Echo', true);

let server: grpc.Server;
let client: grpc.Client;

beforeAll(async () => {
  const security = insecureLoopback();
  server = createServer({ security });
  server.addService({ Double, Echo } as grpc.ServiceDefinition, {
    Double: (call: grpc.ServerUnaryCall<{ n: number }, { n: number }>, cb: grpc.sendUnaryData<{ n: number }>) => {
      if (call.request.n < 0) cb(rpcError(grpc.status.INVALID_ARGUMENT, 'negative'));
      else cb(null, { n: call.request.n * 2 });
    },
    Echo: (call: grpc.ServerDuplexStream<{ n: number }, { n: number }>) => {
      call.on('data', (m: { n: number }) => call.write(m));
      call.on('end', () => call.end());
    },
  });
  const port = await bindServer(server, '127.0.0.1', 0);
  client = createClient(`127.0.0.1:${port}`, security, 'metered');
});

afterAll(() => {
  client?.close();
  server?.forceShutdown();
});

const DOUBLE = 'tiertalk.test.Metered/Double';
const ECHO = 'tiertalk.test.Metered/Echo';

describe('gRPC metrics (createServer / createClient interceptors)', () => {
  it('count unary calls by method and status code on both sides, with their latency', async () => {
    await unaryCall(client, Double, { n: 1 }, { deadlineMs: 5_000 });
    await unaryCall(client, Double, { n: 2 }, { deadlineMs: 5_000 });
    await expect(unaryCall(client, Double, { n: -1 }, { deadlineMs: 5_000 })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });

    expect(await sampleValue('tt_grpc_server_handled_total', { method: DOUBLE, code: 'OK' })).toBe(2);
    expect(await sampleValue('tt_grpc_server_handled_total', { method: DOUBLE, code: 'INVALID_ARGUMENT' })).toBe(1);
    expect(await sampleValue('tt_grpc_client_handled_total', { method: DOUBLE, code: 'OK' })).toBe(2);
    expect(await sampleValue('tt_grpc_client_handled_total', { method: DOUBLE, code: 'INVALID_ARGUMENT' })).toBe(1);
    expect(await sampleValue('tt_grpc_server_handling_seconds_count', { method: DOUBLE })).toBe(3);
    expect(await sampleValue('tt_grpc_client_handling_seconds_count', { method: DOUBLE })).toBe(3);
    expect(await sampleValue('tt_grpc_client_handling_seconds_sum', { method: DOUBLE })).toBeGreaterThan(0);
  });

  it('count stream messages by direction, and the stream once it ends', async () => {
    const stream = openBidi(client, Echo);
    const got: number[] = [];
    stream.on('data', (m: { n: number }) => got.push(m.n));
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('status', () => resolve());
      stream.on('error', reject);
    });
    for (const n of [1, 2, 3]) stream.write({ n });
    stream.end();
    await ended;
    expect(got).toEqual([1, 2, 3]);

    expect(await sampleValue('tt_grpc_client_stream_messages_total', { method: ECHO, direction: 'sent' })).toBe(3);
    expect(await sampleValue('tt_grpc_client_stream_messages_total', { method: ECHO, direction: 'received' })).toBe(3);
    expect(await sampleValue('tt_grpc_server_stream_messages_total', { method: ECHO, direction: 'received' })).toBe(3);
    expect(await sampleValue('tt_grpc_server_stream_messages_total', { method: ECHO, direction: 'sent' })).toBe(3);
    expect(await sampleValue('tt_grpc_server_handled_total', { method: ECHO, code: 'OK' })).toBe(1);
    expect(await sampleValue('tt_grpc_client_handled_total', { method: ECHO, code: 'OK' })).toBe(1);
    // Streams have no latency histogram: they live as long as the link.
    expect(await sampleValue('tt_grpc_server_handling_seconds_count', { method: ECHO })).toBe(0);
  });
});
