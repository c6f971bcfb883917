// The admin HTTP API's metrics (docs/METRICS.md). Labels are bounded: `route`
// is the route's template (/v1/users/{user}), never the raw path with its user
// names and ids; `method` one of the API's methods or `other`; `status` the
// HTTP status, from the error catalogue's fixed set (errors.ts).
import { Counter, Histogram, metricsRegistry } from '@tiertalk/metrics';
import { ROUTES, routeTemplate, type RouteMethod } from './http-routes';

const METHODS: ReadonlySet<string> = new Set<RouteMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

const requests = new Counter({
  name: 'tt_admin_http_requests_total',
  help: 'Admin HTTP API requests answered, by route template, method and HTTP status (route "unmatched": no such endpoint)',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [metricsRegistry],
});

const duration = new Histogram({
  name: 'tt_admin_http_request_duration_seconds',
  help: 'Time to answer an admin HTTP API request (the cluster calls it makes included), by route template and method',
  labelNames: ['route', 'method'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});
// Every route the API serves has its latency series from the start, so a rate exists before the first call.
for (const route of ROUTES) duration.zero({ route: route.template, method: route.method });

/** Counts one answered request; `seconds` from its arrival to its answer. */
export function observeRequest(method: string, pathname: string, status: number, seconds: number): void {
  const labels = { route: routeTemplate(pathname), method: METHODS.has(method) ? method : 'other' };
  requests.inc({ ...labels, status: String(status) });
  duration.observe(labels, seconds);
}
