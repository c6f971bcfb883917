import * as grpc from '@grpc/grpc-js';
import { rpcError } from './status';

/** The client half of a MethodDefinition; a full grpc.MethodDefinition fits. */
export type ClientMethod<Req, Res> = Pick<grpc.MethodDefinition<Req, Res>, 'path' | 'requestSerialize' | 'responseDeserialize'>;

export interface UnaryCallOptions {
  /** Always required: a call without a deadline can hang forever on a stuck peer. */
  deadlineMs: number;
  metadata?: grpc.Metadata;
  /** Server call being handled: propagates its deadline and cancellation onward. */
  parent?: grpc.CallOptions['parent'];
}

export function unaryCall<Req, Res>(client: grpc.Client, method: ClientMethod<Req, Res>, req: Req, opts: UnaryCallOptions): Promise<Res> {
  const options: grpc.CallOptions = { deadline: Date.now() + opts.deadlineMs };
  if (opts.parent) options.parent = opts.parent;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, req, opts.metadata ?? new grpc.Metadata(), options, (err, res) => {
      if (err) reject(err);
      else if (res === undefined) reject(rpcError(grpc.status.INTERNAL, `${method.path}: empty response`));
      else resolve(res);
    });
  });
}

/**
 * Opens a bidirectional stream. No deadline: these streams live as long as the
 * link between two instances, so a deadline would cut healthy streams; dead
 * peers are found by keepalive pings (see channel.ts) instead.
 */
export function openBidi<Req, Res>(client: grpc.Client, method: ClientMethod<Req, Res>, opts?: { metadata?: grpc.Metadata }): grpc.ClientDuplexStream<Req, Res> {
  return client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, opts?.metadata ?? new grpc.Metadata(), {});
}

/** Opens a client stream; onDone gets the single response or the error. No deadline, as for openBidi. */
export function openClientStream<Req, Res>(
  client: grpc.Client,
  method: ClientMethod<Req, Res>,
  onDone: (err: grpc.ServiceError | null, res?: Res) => void,
  opts?: { metadata?: grpc.Metadata },
): grpc.ClientWritableStream<Req> {
  return client.makeClientStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, opts?.metadata ?? new grpc.Metadata(), {}, onDone);
}
