import { metricsRegistry } from './registry';

/**
 * The sum of a metric's current samples whose labels include `labels`
 * (tests, admin output). A histogram's series are named by their suffix:
 * `x_count`, `x_sum`, `x_bucket`. Throws for a metric never registered.
 */
export async function sampleValue(name: string, labels: Record<string, string> = {}): Promise<number> {
  const family = name.replace(/_(count|sum|bucket)$/, '');
  const metric = metricsRegistry.getSingleMetric(name) ?? metricsRegistry.getSingleMetric(family);
  if (metric === undefined) throw new Error(`no metric named ${name} is registered`);
  const { values } = await metric.get();
  return values
    // A histogram's samples name their series (metricName); a counter's or gauge's do not.
    .filter((v) => ('metricName' in v && typeof v.metricName === 'string' ? v.metricName : name) === name)
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((sum, v) => sum + v.value, 0);
}
