import * as grpc from '@grpc/grpc-js';
import { Counter, Histogram, metricsRegistry } from '@tiertalk/metrics';

// Unary calls between tiers take milliseconds; logins (argon2id) and retried stores up to seconds.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// `method` is "<package>.<Service>/<Method>": bounded by the services' definitions
// (grpc-js answers an unknown method UNIMPLEMENTED before any interceptor runs).
const serverHandled = new Counter({
  name: 'tt_grpc_server_handled_total',
  help: 'gRPC calls this process served, by method and status code (streams counted when they end)',
  labelNames: ['method', 'code'] as const,
  registers: [metricsRegistry],
});
const serverSeconds = new Histogram({
  name: 'tt_grpc_server_handling_seconds',
  help: 'Time to answer a unary gRPC call, by method',
  labelNames: ['method'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});
const serverStreamMessages = new Counter({
  name: 'tt_grpc_server_stream_messages_total',
  help: 'Messages received and sent on gRPC streams this process served, by method and direction',
  labelNames: ['method', 'direction'] as const,
  registers: [metricsRegistry],
});
const clientHandled = new Counter({
  name: 'tt_grpc_client_handled_total',
  help: 'gRPC calls this process made, by method and status code (streams counted when they end)',
  labelNames: ['method', 'code'] as const,
  registers: [metricsRegistry],
});
const clientSeconds = new Histogram({
  name: 'tt_grpc_client_handling_seconds',
  help: 'Time from starting a unary gRPC call to its status, by method',
  labelNames: ['method'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});
const clientStreamMessages = new Counter({
  name: 'tt_grpc_client_stream_messages_total',
  help: 'Messages sent and received on gRPC streams this process opened, by method and direction',
  labelNames: ['method', 'direction'] as const,
  registers: [metricsRegistry],
});

/** "/tiertalk.DbProxy/Validate" → "tiertalk.DbProxy/Validate". */
function methodLabel(path: string): string {
  return path.startsWith('/') ? path.slice(1) : path;
}

function codeLabel(code: grpc.status): string {
  return grpc.status[code] ?? 'UNKNOWN';
}

/**
 * Counts every call a server handles (status code, unary latency, stream
 * messages). First in the server's interceptor list, so it also sees the
 * calls the access policy refuses.
 */
export const serverMetricsInterceptor: grpc.ServerInterceptor = (method, call) => {
  const name = methodLabel(method.path);
  const unary = !method.requestStream && !method.responseStream;
  const started = performance.now();
  let finished = false;
  const finish = (code: grpc.status): void => {
    if (finished) return;
    finished = true;
    serverHandled.inc({ method: name, code: codeLabel(code) });
    if (unary) serverSeconds.observe({ method: name }, (performance.now() - started) / 1000);
  };
  return new grpc.ServerInterceptingCall(call, {
    start: (next) => {
      next({
        onReceiveMessage: (message, pass) => {
          if (method.requestStream) serverStreamMessages.inc({ method: name, direction: 'received' });
          pass(message);
        },
        // The client went away (or its deadline passed) before a status was sent.
        onCancel: () => finish(grpc.status.CANCELLED),
      });
    },
    sendMessage: (message, next) => {
      if (method.responseStream) serverStreamMessages.inc({ method: name, direction: 'sent' });
      next(message);
    },
    sendStatus: (status, next) => {
      finish(status.code);
      next(status);
    },
  });
};

/** Counts every call a client makes: status code, unary latency, stream messages. */
export const clientMetricsInterceptor: grpc.Interceptor = (options, nextCall) => {
  const def = options.method_definition;
  const name = methodLabel(def.path);
  const unary = !def.requestStream && !def.responseStream;
  const started = performance.now();
  return new grpc.InterceptingCall(nextCall(options), {
    start: (metadata, _listener, next) => {
      next(metadata, {
        onReceiveMessage: (message, pass) => {
          if (def.responseStream) clientStreamMessages.inc({ method: name, direction: 'received' });
          pass(message);
        },
        onReceiveStatus: (status, pass) => {
          clientHandled.inc({ method: name, code: codeLabel(status.code) });
          if (unary) clientSeconds.observe({ method: name }, (performance.now() - started) / 1000);
          pass(status);
        },
      });
    },
    sendMessage: (message, next) => {
      if (def.requestStream) clientStreamMessages.inc({ method: name, direction: 'sent' });
      next(message);
    },
  });
};
