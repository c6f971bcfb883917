export { metricsRegistry, enableDefaultMetrics } from './registry';
export { startMetricsServer, handleMetricsRequest, type MetricsServer, type HttpRoute } from './http';
export { metricsMeta, startServiceMetrics, type ServiceMetricsOptions } from './service';
export { RefusalLog, refusalCount, type WarnLogger } from './refusals';
export { clientAddressKey } from './client-address';
export { Counter, Gauge, Histogram, Summary } from 'prom-client';
