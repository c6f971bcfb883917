import { isLeaving, type ServiceWatch } from '@tiertalk/registry';
import type { CheckSink } from '../readiness';

/**
 * Passes while etcd lists at least one instance of the watched service that
 * is not leaving (a gracefully stopping one marks itself leaving first). A
 * killed instance counts until its lease ends and the watch's removal grace
 * passes (TT_LEASE_TTL_SEC + 3 s). Returns the unsubscribe.
 */
export function followLiveInstances(sink: CheckSink, watch: Pick<ServiceWatch, 'service' | 'list' | 'on' | 'off'>): () => void {
  const evaluate = (): void => {
    const live = watch.list().filter((i) => !isLeaving(i)).length;
    if (live > 0) sink.pass();
    else sink.fail(`no live ${watch.service} instance in etcd`);
  };
  watch.on('change', evaluate);
  evaluate();
  return () => watch.off('change', evaluate);
}
