import type * as grpc from '@grpc/grpc-js';
import { HealthImplementation, service as healthServiceDefinition } from 'grpc-health-check';
import { accessPolicy, type AccessPolicy } from '@tiertalk/rpc';
import type { Readiness, ReadinessReport } from './readiness';

/** The standard health service (grpc.health.v1.Health), as grpc-health-check loads it. */
export const HealthService = healthServiceDefinition as unknown as grpc.ServiceDefinition;

/**
 * Who may ask a tier for its health (mutual TLS, docs/HEALTH.md): any
 * certificate of the cluster, the operator's admin certificate included, so
 * grpc_health_probe runs with admin.crt and a tier may check its peers. A
 * caller without a cluster certificate is refused like any other call
 * (UNAUTHENTICATED): the HTTP /readyz is the probe for callers without one.
 */
export const healthAccess: AccessPolicy = accessPolicy('Health', HealthService, {
  Check: ['db-proxy', 'route', 'msg', 'login', 'admin', 'push'],
  Watch: ['db-proxy', 'route', 'msg', 'login', 'admin', 'push'],
  List: ['db-proxy', 'route', 'msg', 'login', 'admin', 'push'],
});

type WatchCall = grpc.ServerWritableStream<unknown, unknown>;

/**
 * Serves grpc.health.v1.Health on `server` from `readiness`: the overall
 * status ("") and `grpcService` (e.g. "tiertalk.DbProxy") are SERVING while
 * the instance is ready, NOT_SERVING otherwise. Once the instance drains,
 * open Watch streams get NOT_SERVING and are then ended, so they do not hold
 * up the server's graceful shutdown.
 */
export function serveHealth(server: Pick<grpc.Server, 'addService'>, readiness: Readiness, grpcService: string): void {
  const health = new HealthImplementation({ '': 'NOT_SERVING', [grpcService]: 'NOT_SERVING' });
  const watches = new Set<WatchCall>();
  health.addToServer({
    addService: (definition, impl) => {
      const watch = impl.watch as (call: WatchCall) => void;
      server.addService(definition as unknown as grpc.ServiceDefinition, {
        ...impl,
        watch: (call: WatchCall) => {
          if (readiness.draining) {
            call.write({ status: 'NOT_SERVING' });
            call.end();
            return;
          }
          watches.add(call);
          call.on('cancelled', () => watches.delete(call));
          watch(call);
        },
      } as grpc.UntypedServiceImplementation);
    },
  });
  let current: 'SERVING' | 'NOT_SERVING' | undefined;
  readiness.onChange((report: ReadinessReport) => {
    const status = report.ready ? 'SERVING' : 'NOT_SERVING';
    // Watchers hear flips only, not every change of a reason.
    if (status !== current) {
      current = status;
      health.setStatus('', status);
      health.setStatus(grpcService, status);
    }
    if (!report.draining) return;
    for (const call of watches) call.end();
    watches.clear();
  });
}
