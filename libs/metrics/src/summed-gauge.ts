import { Gauge } from 'prom-client';
import { metricsRegistry } from './registry';

/**
 * A gauge read at each scrape: the sum of `value` over `sources`, the live
 * instances of one kind in this process (one in a service, several in
 * in-process tests). Callers add and remove sources as they come and go.
 */
export function summedGauge<S>(name: string, help: string, sources: Iterable<S>, value: (source: S) => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [metricsRegistry],
    collect() {
      let n = 0;
      for (const s of sources) n += value(s);
      this.set(n);
    },
  });
}
