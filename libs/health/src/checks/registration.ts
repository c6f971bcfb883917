import type { Registration } from '@tiertalk/registry';
import type { CheckSink } from '../readiness';

/** Passes while this instance's key is held in etcd on a live lease. Returns the unsubscribe. */
export function followRegistration(sink: CheckSink, registration: Pick<Registration, 'onStateChange'>): () => void {
  return registration.onStateChange((state) => (state.registered ? sink.pass() : sink.fail(state.reason)));
}
