import { Counter, Gauge, metricsRegistry, summedGauge } from '@tiertalk/metrics';

/** What the gauges read from a live traffic control. */
export interface GroupPushGauges {
  readonly queuedDeliveries: number;
  readonly sliceBudget: number;
  readonly oldestQueuedMs: number;
}

/** Why a delivery was dropped from the live push (the message stays stored). */
export type ShedReason = 'queue_full' | 'timeout' | 'slow_connection';

// The controls of the gateways in this process (one, or several in in-process tests).
const controls = new Set<GroupPushGauges>();

summedGauge('tt_msg_group_push_queue_deliveries', 'Group-message deliveries (one frame to one connection) waiting in the traffic-control queue', controls, (c) => c.queuedDeliveries);

new Gauge({
  name: 'tt_msg_group_push_queue_age_seconds',
  help: 'Age of the oldest group push waiting in the traffic-control queue (0 when none waits)',
  registers: [metricsRegistry],
  collect() {
    let ms = 0;
    for (const c of controls) ms = Math.max(ms, c.oldestQueuedMs);
    this.set(ms / 1000);
  },
});

summedGauge(
  'tt_msg_group_push_slice_budget',
  'Group-message deliveries the traffic control may write in one event-loop slice (adapts to write speed and loop delay)',
  controls,
  (c) => c.sliceBudget,
);

export const groupPushDelivered = new Counter({
  name: 'tt_msg_group_push_deliveries_total',
  help: 'Group-message deliveries written to a connection by traffic control',
  registers: [metricsRegistry],
});

export const groupPushShed = new Counter({
  name: 'tt_msg_group_push_shed_total',
  help: 'Group-message deliveries dropped from the live push by traffic control (stored: members get them by pull), by reason: queue_full, timeout, slow_connection',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});
for (const reason of ['queue_full', 'timeout', 'slow_connection'] as const) groupPushShed.inc({ reason }, 0);

export function trackGroupPushQueue(c: GroupPushGauges): void {
  controls.add(c);
}

export function untrackGroupPushQueue(c: GroupPushGauges): void {
  controls.delete(c);
}
