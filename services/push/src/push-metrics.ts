import { Counter, Gauge, metricsRegistry } from '@tiertalk/metrics';

export const REQUEST_OUTCOMES = ['accepted', 'shed', 'invalid'] as const;
export const requests = new Counter({
  name: 'tt_push_requests_total',
  help: "Push requests from route (a stored message and its receivers without a session), by outcome: accepted, shed (queue full), invalid (undecodable message)",
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});
for (const outcome of REQUEST_OUTCOMES) requests.inc({ outcome }, 0);

export const SKIP_REASONS = ['own_message', 'group_shield', 'no_token', 'push_shield', 'no_provider', 'lookup_failed', 'shed'] as const;
export const skipped = new Counter({
  name: 'tt_push_skipped_total',
  help: 'Receivers or devices not pushed, by reason: own_message, group_shield (muted the group), no_token, push_shield (do not disturb), no_provider (none configured for the token), lookup_failed (db-proxy unreachable), shed (send queue full)',
  labelNames: ['reason'] as const,
  registers: [metricsRegistry],
});
for (const reason of SKIP_REASONS) skipped.inc({ reason }, 0);

export const SEND_OUTCOMES = ['sent', 'failed', 'invalid_token', 'rejected'] as const;
export const notifications = new Counter({
  name: 'tt_push_notifications_total',
  help: 'Notifications handed to a provider, by provider and final outcome: sent, failed (transient failures until the attempts ran out), invalid_token (the provider says the token is dead; it is cleared), rejected (refused for another reason)',
  labelNames: ['provider', 'outcome'] as const,
  registers: [metricsRegistry],
});

export const retries = new Counter({
  name: 'tt_push_retries_total',
  help: 'Sends tried again after a transient failure, by provider',
  labelNames: ['provider'] as const,
  registers: [metricsRegistry],
});

export const tokensCleared = new Counter({
  name: 'tt_push_tokens_cleared_total',
  help: 'Device tokens cleared in db-proxy after a provider called them dead',
  registers: [metricsRegistry],
});

export const backlog = new Gauge({
  name: 'tt_push_backlog',
  help: 'Push requests and notifications held: waiting for lookups, a send slot or a retry',
  registers: [metricsRegistry],
});

/** Zero series for each configured provider, so dashboards show them before the first push. */
export function initProviderSeries(names: readonly string[]): void {
  for (const provider of names) {
    for (const outcome of SEND_OUTCOMES) notifications.inc({ provider, outcome }, 0);
    retries.inc({ provider }, 0);
  }
}
