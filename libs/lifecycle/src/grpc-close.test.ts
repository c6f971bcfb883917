// shutdownGrpcServer on a real grpc-js server with a long-lived server stream open.
import * as grpc from '@grpc/grpc-js';
import { shutdownGrpcServer } from './grpc-close';

const same = (b: Buffer): Buffer => b;
const definition: grpc.ServiceDefinition = {
  Hold: { path: '/test.Holder/Hold', requestStream: false, responseStream: true, requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same },
};
const HolderClient = grpc.makeGenericClientConstructor(definition, 'Holder');

async function serverWithOpenStream() {
  let opened: (call: grpc.ServerWritableStream<Buffer, Buffer>) => void = () => undefined;
  const open = new Promise<grpc.ServerWritableStream<Buffer, Buffer>>((resolve) => (opened = resolve));
  const server = new grpc.Server();
  server.addService(definition, { Hold: (call: grpc.ServerWritableStream<Buffer, Buffer>) => opened(call) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const client = new HolderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const stream = client.Hold(Buffer.alloc(0)) as grpc.ClientReadableStream<Buffer>;
  const ended = new Promise<string>((resolve) => {
    stream.on('error', (err: grpc.ServiceError) => resolve(`error ${err.code}`));
    stream.on('end', () => resolve('end'));
    stream.on('data', () => undefined);
  });
  return { server, client, call: await open, ended };
}

describe('shutdownGrpcServer', () => {
  it('waits for an open stream, and cuts it after ms', async () => {
    const { server, client, ended } = await serverWithOpenStream();
    const t = Date.now();
    await shutdownGrpcServer(server, 300);
    expect(Date.now() - t).toBeGreaterThanOrEqual(290);
    expect(await ended).toMatch(/^error /);
    client.close();
  });

  it('resolves as soon as the last stream ends by itself', async () => {
    const { server, client, call, ended } = await serverWithOpenStream();
    const closing = shutdownGrpcServer(server, 30_000);
    call.end();
    const t = Date.now();
    await closing;
    expect(Date.now() - t).toBeLessThan(5_000);
    expect(await ended).toBe('end');
    client.close();
  });
});
