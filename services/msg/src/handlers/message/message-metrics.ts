import { Counter, Histogram, metricsRegistry } from '@tiertalk/metrics';

export type SessionKind = 'single' | 'group';

/** Why a client's message got no stored ACK: flood_control (TT_MSG_RATE_PER_SEC), store_failed (not stored by the deadline), store_rejected (db-proxy refused it). */
export type MessageRefusal = 'flood_control' | 'store_failed' | 'store_rejected';

const received = new Counter({
  name: 'tt_msg_messages_received_total',
  help: 'IMMsgData a client sent this gateway to be stored and delivered (empty, unknown-type and to-self messages, which TeamTalk drops, excluded)',
  labelNames: ['session_type'] as const,
  registers: [metricsRegistry],
});
const acked = new Counter({
  name: 'tt_msg_messages_acked_total',
  help: 'Messages stored and ACKed to their sender with their msg id',
  labelNames: ['session_type'] as const,
  registers: [metricsRegistry],
});
const refused = new Counter({
  name: 'tt_msg_messages_refused_total',
  help: 'Messages not stored, by reason: flood_control, store_failed, store_rejected',
  labelNames: ['session_type', 'reason'] as const,
  registers: [metricsRegistry],
});
const ackSeconds = new Histogram({
  name: 'tt_msg_message_ack_seconds',
  help: 'Time from a message reaching the gateway to its ACK (stored in MySQL and held by route)',
  labelNames: ['session_type'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});
for (const session_type of ['single', 'group'] satisfies SessionKind[]) {
  received.inc({ session_type }, 0);
  acked.inc({ session_type }, 0);
  for (const reason of ['flood_control', 'store_failed', 'store_rejected'] satisfies MessageRefusal[]) refused.inc({ session_type, reason }, 0);
}

/** One message's way through the gateway, counted at each end. */
export class MessageMeter {
  private readonly started = performance.now();

  constructor(private readonly kind: SessionKind) {
    received.inc({ session_type: kind });
  }

  acked(): void {
    acked.inc({ session_type: this.kind });
    ackSeconds.observe({ session_type: this.kind }, (performance.now() - this.started) / 1000);
  }

  refused(reason: MessageRefusal): void {
    refused.inc({ session_type: this.kind, reason });
  }
}
