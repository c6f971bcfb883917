import { Counter, metricsRegistry } from '@tiertalk/metrics';

const changesReceived = new Counter({
  name: 'tt_msg_presence_changes_received_total',
  help: 'Desktop presence changes received in route\'s coalesced presence pushes (one per user per interval)',
  registers: [metricsRegistry],
});

const notifiesWritten = new Counter({
  name: 'tt_msg_presence_notifies_total',
  help: 'IMUserStatNotify frames written to desktop connections from route\'s presence pushes',
  registers: [metricsRegistry],
});

/** One coalesced presence push applied: `changes` users listed, `written` frames written over every receiver. */
export function countPresenceNotifies(changes: number, written: number): void {
  changesReceived.inc(changes);
  notifiesWritten.inc(written);
}
