export { metricsRegistry, enableDefaultMetrics } from './registry';
export { startMetricsServer, handleMetricsRequest, type MetricsServer } from './http';
export { RefusalLog, refusalCount, type WarnLogger } from './refusals';
export { Counter, Gauge, Histogram, Summary } from 'prom-client';
