import type http from 'node:http';
import type { Readiness } from './readiness';

/** Answers one request and returns true, or returns false to leave it to the next handler. */
export type ProbeRoute = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/**
 * GET /healthz: 200 while the process runs (its event loop answers).
 * GET /readyz: 200 when ready, else 503; both with the readiness report as
 * JSON ({"ready":false,"reasons":["mysql:master: connect ECONNREFUSED"],...}).
 * HEAD works on both; other methods get 405. Other paths are not answered.
 */
export function probeRoutes(readiness: Readiness): ProbeRoute {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz' && path !== '/readyz') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    const report = readiness.report();
    const live = path === '/healthz';
    const body = live ? { service: report.service, alive: true } : report;
    const status = live || report.ready ? 200 : 503;
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
    return true;
  };
}
