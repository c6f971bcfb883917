export { metricsRegistry, enableDefaultMetrics } from './registry';
export { startMetricsServer, handleMetricsRequest, type MetricsServer, type HttpRoute } from './http';
export { metricsMeta, startServiceMetrics, type ServiceMetricsOptions } from './service';
export { RefusalLog, refusalCount, type WarnLogger } from './refusals';
export { sampleValue } from './sample-value';
export { clientAddressKey } from './client-address';
export { countMysqlErrors, mysqlErrorCode } from './mysql-errors';
export { countRedisErrors, type CountableRedis, type RedisCommandLike } from './redis-errors';
export { Counter, Gauge, Histogram, Summary } from 'prom-client';
