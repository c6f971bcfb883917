import { startPeriodicProbe, type Readiness } from '@tiertalk/health';
import type { ServiceLifecycle } from './service-lifecycle';

/** What watchStore needs of a file store (@tiertalk/storage FileStore). */
export interface CheckableStore {
  check(): Promise<void>;
  readonly description: string;
  close(): void;
}

/** How often the store is asked (a directory stat or a bucket HEAD: cheap). */
const STORE_PROBE_MS = 10_000;

/**
 * A file service's store (file, msfs): readiness check `store` follows its
 * answers, probed every 10 s; at stop the probe ends, then the store closes.
 */
export function watchStore(store: CheckableStore, readiness: Readiness, life: ServiceLifecycle): void {
  life.closes('store', () => store.close());
  const probe = startPeriodicProbe(readiness.add('store', { initialReason: 'store not checked yet' }), () => store.check(), {
    intervalMs: STORE_PROBE_MS,
    what: `no answer from ${store.description}`,
  });
  life.closes('store probe', () => probe.stop());
}
