import { Counter, Gauge, metricsRegistry } from '@tiertalk/metrics';

/** What the queue gauge reads from a live traffic control. */
export interface QueuedDeliveries {
  readonly queuedDeliveries: number;
}

// The controls of the gateways in this process (one, or several in in-process tests).
const controls = new Set<QueuedDeliveries>();

new Gauge({
  name: 'tt_msg_group_push_queue_deliveries',
  help: 'Group-message deliveries (one frame to one connection) waiting in the traffic-control queue',
  registers: [metricsRegistry],
  collect() {
    let n = 0;
    for (const c of controls) n += c.queuedDeliveries;
    this.set(n);
  },
});

export const groupPushDelivered = new Counter({
  name: 'tt_msg_group_push_deliveries_total',
  help: 'Group-message deliveries written to a connection by traffic control',
  registers: [metricsRegistry],
});

export const groupPushShed = new Counter({
  name: 'tt_msg_group_push_shed_total',
  help: 'Group-message deliveries dropped by traffic control (stored: members get them by pull), by reason: queue_full, timeout',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});
groupPushShed.inc({ reason: 'queue_full' }, 0);
groupPushShed.inc({ reason: 'timeout' }, 0);

export function trackGroupPushQueue(c: QueuedDeliveries): void {
  controls.add(c);
}

export function untrackGroupPushQueue(c: QueuedDeliveries): void {
  controls.delete(c);
}
