import * as grpc from '@grpc/grpc-js';
import { accessInterceptor, type AccessPolicy, type RefusalSink } from './access-policy';
import { clientMetricsInterceptor, serverMetricsInterceptor } from './rpc-metrics';
import { channelCredentials, isLoopbackHost, serverCredentials, type InsecureLoopback, type MutualTls, type RpcSecurity } from './security';

export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const COMMON_OPTIONS: grpc.ChannelOptions = {
  // Pings find dead peers on idle long-lived streams (no deadline there).
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
};

const CLIENT_OPTIONS: grpc.ChannelOptions = {
  ...COMMON_OPTIONS,
  // A restarted instance should be reachable again within seconds, not minutes.
  'grpc.initial_reconnect_backoff_ms': 500,
  'grpc.max_reconnect_backoff_ms': 5_000,
};

export type ServerSecurity =
  | {
      readonly security: MutualTls;
      /** Who may call which method (one policy per service the server hosts); anything else is refused. */
      readonly access: readonly AccessPolicy[];
      /** Where refused calls are counted (RefusalLog). */
      readonly refusals: RefusalSink;
    }
  | {
      /** Plaintext on loopback: a plaintext server cannot tell callers apart, so no policy applies. */
      readonly security: InsecureLoopback;
      readonly access?: readonly AccessPolicy[];
      readonly refusals?: RefusalSink;
    }
  | { readonly security: RpcSecurity; readonly access: readonly AccessPolicy[]; readonly refusals: RefusalSink };

// What bindServer needs to know about a server createServer made.
const securityOf = new WeakMap<grpc.Server, RpcSecurity>();

export function createServer(opts: ServerSecurity): grpc.Server {
  // With mTLS every call passes the policy; no policy means nobody may call.
  // Metrics first (nearest the wire): refused calls are counted too.
  const interceptors = [serverMetricsInterceptor];
  if (opts.security.kind === 'mtls') interceptors.push(accessInterceptor(opts.access ?? [], opts.refusals ?? { refuse: () => undefined }));
  const server = new grpc.Server({ ...COMMON_OPTIONS, interceptors });
  securityOf.set(server, opts.security);
  return server;
}

/** Refused: plaintext gRPC on an address other hosts can reach. */
export class InsecureBindError extends Error {
  override readonly name = 'InsecureBindError';
  readonly code = 'INSECURE_BIND';
}

/** Binds host:port (0 = any free port) and resolves with the bound port. */
export function bindServer(server: grpc.Server, host: string, port: number): Promise<number> {
  const security = securityOf.get(server);
  if (!security) return Promise.reject(new Error('bindServer: the server was not made by createServer'));
  if (security.kind === 'insecure' && !isLoopbackHost(host)) {
    return Promise.reject(new InsecureBindError(`plaintext gRPC may only bind a loopback address, not ${host}`));
  }
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new Promise((resolve, reject) => {
    server.bindAsync(`${h}:${port}`, serverCredentials(security), (err, bound) => {
      if (err) reject(err);
      else resolve(bound);
    });
  });
}

/** A client of one instance of `service` at addr; with mTLS the server must prove it is that service. */
export function createClient(addr: string, security: RpcSecurity, service: string): grpc.Client {
  // TLS server name = the service (not the IP from etcd, which SNI does not allow).
  const options = security.kind === 'mtls' ? { ...CLIENT_OPTIONS, 'grpc.ssl_target_name_override': service } : CLIENT_OPTIONS;
  // Interceptors are the client's own, not a channel option: channels are still shared.
  return new grpc.Client(addr, channelCredentials(security, service), { ...options, interceptors: [clientMetricsInterceptor] });
}
