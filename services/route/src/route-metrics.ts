import { Counter, Gauge, metricsRegistry } from '@tiertalk/metrics';

// `gateway` is a gateway's instance id (TT_INSTANCE_ID): bounded by the fleet,
// and a gateway's series are removed when it leaves etcd (forgetGateway).

export const envelopesRouted = new Counter({
  name: 'tt_route_envelopes_routed_total',
  help: 'Envelopes (messages, notifications) routed to the gateways holding their receivers, by kind: direct (to named users) or broadcast',
  labelNames: ['kind'] as const,
  registers: [metricsRegistry],
});
envelopesRouted.inc({ kind: 'direct' }, 0);
envelopesRouted.inc({ kind: 'broadcast' }, 0);

const pushes = new Counter({
  name: 'tt_route_pushes_total',
  help: 'Pushes (one envelope for one gateway\'s receivers) queued to a gateway\'s Push stream, by gateway',
  labelNames: ['gateway'] as const,
  registers: [metricsRegistry],
});

// Not per gateway: a departing gateway's drops would go with its series. The
// unacked gauge shows which gateway backs up.
const droppedBatches = new Counter({
  name: 'tt_route_push_batches_dropped_total',
  help: 'PushBatches given up, by reason: queue_full (a gateway stopped reading), gateway_gone (it left etcd unacknowledged); receivers get them by pull',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});
droppedBatches.inc({ reason: 'queue_full' }, 0);
droppedBatches.inc({ reason: 'gateway_gone' }, 0);

/** What the unacknowledged gauge reads from each gateway link. */
export interface UnackedSource {
  unackedByGateway(): Iterable<readonly [gatewayId: string, batches: number]>;
}

const sources = new Set<UnackedSource>();

new Gauge({
  name: 'tt_route_push_batches_unacked',
  help: 'PushBatches queued or written to a gateway and not yet acknowledged, by gateway',
  labelNames: ['gateway'] as const,
  registers: [metricsRegistry],
  collect() {
    this.reset();
    for (const s of sources) for (const [gateway, n] of s.unackedByGateway()) this.inc({ gateway }, n);
  },
});

export function countPushes(gateway: string, n: number): void {
  pushes.inc({ gateway }, n);
}

export function countDroppedBatches(reason: 'queue_full' | 'gateway_gone', n: number): void {
  if (n > 0) droppedBatches.inc({ reason }, n);
}

/** The gateway left etcd: its series go, so restarts under new ids do not pile up (pushes since the last scrape are lost with it). */
export function forgetGateway(gateway: string): void {
  pushes.remove({ gateway });
}

export function exportUnacked(source: UnackedSource): () => void {
  sources.add(source);
  return () => sources.delete(source);
}

const presenceChanges = new Counter({
  name: 'tt_route_presence_changes_total',
  help: 'Desktop presence changes (a user\'s first desktop login, last desktop logout) to tell every desktop connection, before coalescing',
  registers: [metricsRegistry],
});

const presenceCoalesced = new Counter({
  name: 'tt_route_presence_coalesced_total',
  help: 'Desktop presence changes replaced by a later change of the same user within one coalescing interval (never sent)',
  registers: [metricsRegistry],
});

export function countPresenceChange(coalescedAway: boolean): void {
  presenceChanges.inc();
  if (coalescedAway) presenceCoalesced.inc();
}
