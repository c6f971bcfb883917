import * as grpc from '@grpc/grpc-js';

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

export function createServer(): grpc.Server {
  return new grpc.Server(COMMON_OPTIONS);
}

/** Binds host:port (0 = any free port) and resolves with the bound port. */
export function bindServer(server: grpc.Server, host: string, port: number): Promise<number> {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return new Promise((resolve, reject) => {
    server.bindAsync(`${h}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(err);
      else resolve(bound);
    });
  });
}

export function createClient(addr: string): grpc.Client {
  return new grpc.Client(addr, grpc.credentials.createInsecure(), CLIENT_OPTIONS);
}
