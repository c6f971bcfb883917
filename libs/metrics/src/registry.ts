import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * One registry per process. Every metric of a service registers here, so
 * `/metrics` shows them all; prom-client's process/GC/event-loop defaults are
 * added once, by `startMetricsServer` or `enableDefaultMetrics`.
 */
export const metricsRegistry = new Registry();

let defaultsOn = false;

/** Adds prom-client's process, GC and event-loop metrics (idempotent). */
export function enableDefaultMetrics(labels: Record<string, string> = {}): void {
  if (defaultsOn) return;
  defaultsOn = true;
  metricsRegistry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: metricsRegistry });
}
