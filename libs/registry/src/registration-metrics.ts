import { Counter, Gauge, metricsRegistry } from '@tiertalk/metrics';

/** What the gauge reads from a live registration. */
export interface RegistrationState {
  readonly registered: boolean;
}

// Registrations of this process that have not ended (one per service process; several in in-process tests).
const live = new Set<RegistrationState>();

new Gauge({
  name: 'tt_registry_registered',
  help: '1 while every etcd registration of this process holds its key under a live lease, else 0 (lease lost, etcd unreachable, not registered)',
  registers: [metricsRegistry],
  collect() {
    this.set(live.size > 0 && [...live].every((r) => r.registered) ? 1 : 0);
  },
});

export const leaseLosses = new Counter({
  name: 'tt_registry_lease_losses_total',
  help: 'etcd leases of this process lost (keep-alive failed or expired); each is followed by a re-registration',
  registers: [metricsRegistry],
});

export const reRegistrations = new Counter({
  name: 'tt_registry_reregistrations_total',
  help: 'Times a registration was put again under a new lease after losing its lease',
  registers: [metricsRegistry],
});

export function trackRegistration(r: RegistrationState): void {
  live.add(r);
}

export function untrackRegistration(r: RegistrationState): void {
  live.delete(r);
}
