// http-api's metrics (docs/METRICS.md). Labels are bounded: `route` is one of
// the API's paths or `unmatched`, `status` the HTTP status from the error
// catalogue's fixed set.
import { Counter, Histogram, metricsRegistry } from '@tiertalk/metrics';

const requests = new Counter({
  name: 'tt_http_api_requests_total',
  help: 'Send API requests answered, by path (unmatched: no such endpoint) and HTTP status (401 wrong token, 429 over the rate, 400 bad input)',
  labelNames: ['route', 'status'] as const,
  registers: [metricsRegistry],
});

const duration = new Histogram({
  name: 'tt_http_api_request_duration_seconds',
  help: 'Time to answer a send API request (the db-proxy and route calls it makes included), by path',
  labelNames: ['route'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

const messages = new Counter({
  name: 'tt_http_api_messages_total',
  help: 'Messages sent through the API, by kind (single, group) and result (sent; stored_not_pushed: stored, route did not take the push; refused: db-proxy refused it; not_stored: not stored within TT_STORE_DEADLINE_MS)',
  labelNames: ['kind', 'result'] as const,
  registers: [metricsRegistry],
});

export function observeRequest(route: string, status: number, seconds: number): void {
  requests.inc({ route, status: String(status) });
  duration.observe({ route }, seconds);
}

export function countMessage(kind: 'single' | 'group', result: 'sent' | 'stored_not_pushed' | 'refused' | 'not_stored'): void {
  messages.inc({ kind, result });
}

/** Every path's latency series exists from the start, so a rate exists before the first call. */
export function zeroRoutes(routes: readonly string[]): void {
  for (const route of routes) duration.zero({ route });
}
