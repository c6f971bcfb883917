import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatRefusals, readGatewayRefusals, refusalsBetween } from './gateway-refusals';

// A real HTTP server serving what a gateway serves at /metrics.
function metricsServer(body: () => string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(req.url === '/metrics' ? body() : '');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port })));
}

function exposition(flood: number, storeFailed: number): string {
  return [
    '# HELP tt_msg_messages_refused_total Messages not stored, by reason',
    '# TYPE tt_msg_messages_refused_total counter',
    `tt_msg_messages_refused_total{session_type="group",reason="flood_control"} ${flood}`,
    `tt_msg_messages_refused_total{session_type="single",reason="flood_control"} 1`,
    `tt_msg_messages_refused_total{session_type="group",reason="store_failed"} ${storeFailed}`,
    '# TYPE tt_msg_messages_acked_total counter',
    'tt_msg_messages_acked_total{session_type="group"} 900',
    '',
  ].join('\n');
}

it('sums the gateways refusals by reason over a run and names them', async () => {
  let flood = 3;
  const a = await metricsServer(() => exposition(flood, 0));
  const b = await metricsServer(() => exposition(10, 2));
  try {
    const procs = [
      { service: 'msg', metricsPort: a.port },
      { service: 'msg', metricsPort: b.port },
      { service: 'route', metricsPort: 1 }, // not a gateway: never asked
      { service: 'msg', metricsPort: undefined },
    ];
    const before = await readGatewayRefusals(procs);
    expect(Object.fromEntries(before)).toEqual({ flood_control: 15, store_failed: 2 });
    flood = 57;
    const run = refusalsBetween(before, await readGatewayRefusals(procs));
    expect(Object.fromEntries(run)).toEqual({ flood_control: 54 });
    expect(formatRefusals(run)).toBe('flood_control 54');
    expect(formatRefusals(new Map([['store_failed', 2], ['flood_control', 5]]))).toBe('flood_control 5, store_failed 2');
    expect(formatRefusals(new Map())).toBe('none');
  } finally {
    a.server.close();
    b.server.close();
  }
});
