import { enableDefaultMetrics } from './registry';
import { HttpRoute, MetricsServer, startMetricsServer } from './http';

export interface ServiceMetricsOptions {
  service: string;
  instance: string;
  /** Bind address of the metrics port. */
  host: string;
  /** TT_METRICS_PORT: undefined = no metrics port; 0 = any free port. */
  port: number | undefined;
  /** More paths on the metrics port (libs/health's probeRoutes: /healthz, /readyz). */
  routes?: readonly HttpRoute[];
}

/**
 * A service's metrics at start-up: process defaults (labelled with service
 * and instance) always, so a /metrics served elsewhere (login's HTTP port)
 * has them too, and the metrics port when one is configured.
 */
export async function startServiceMetrics(opts: ServiceMetricsOptions): Promise<MetricsServer | undefined> {
  enableDefaultMetrics({ service: opts.service, instance: opts.instance });
  return opts.port === undefined ? undefined : startMetricsServer(opts.host, opts.port, opts.routes);
}

/** What an instance publishes in its etcd meta so Prometheus and tests find its metrics port. */
export function metricsMeta(server: MetricsServer | undefined): Record<string, number> {
  return server ? { metricsPort: server.port } : {};
}
