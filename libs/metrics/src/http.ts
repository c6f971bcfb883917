import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsRegistry } from './registry';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Answers GET /metrics with the registry in Prometheus text format; anything else is a 404. */
export async function handleMetricsRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return true;
  }
  try {
    const body = await metricsRegistry.metrics();
    res.writeHead(200, { 'content-type': metricsRegistry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
  }
  return true;
}

/** Answers one request and returns true, or returns false to leave it to the next handler (e.g. libs/health's /healthz, /readyz). */
export type HttpRoute = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** Starts the metrics HTTP port (TT_METRICS_PORT; 0 = any free port); `routes` answer before /metrics. */
export function startMetricsServer(host: string, port: number, routes: readonly HttpRoute[] = []): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (routes.some((route) => route(req, res))) return;
    void handleMetricsRequest(req, res).then((handled) => {
      if (!handled) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
