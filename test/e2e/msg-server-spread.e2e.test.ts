// A login burst is spread over the gateways (docs/FLOWS.md §1a step 2): login
// counts the addresses it hands out since each gateway's last load report, so
// /msg_server asked many times between two reports answers both gateways, not
// the same least-loaded one every time.
import { pickGateway } from '@tiertalk/client';
import { e2eSuite } from './suite';

jest.setTimeout(120_000);

const REQUESTS = 40;
const suite = e2eSuite('msg-server-spread', { dbProxy: 1, route: 1, msg: 2, login: true });

it(`answers ${REQUESTS} quick /msg_server requests with both gateways, about half each`, async () => {
  const [gw1, gw2] = suite.cluster.gateways();
  // Nobody logs in, so neither gateway reports a new load meanwhile: only login's own count moves.
  const choices = await Promise.all(Array.from({ length: REQUESTS }, () => pickGateway(suite.cluster.loginUrl)));
  const perPort = new Map<number, number>();
  for (const c of choices) perPort.set(c.port, (perPort.get(c.port) ?? 0) + 1);

  expect([...perPort.keys()].sort()).toEqual([gw1.tcpPort, gw2.tcpPort].sort());
  // Equal reported loads: the answers alternate. The cluster's readiness probe asked /msg_server once
  // before (counted too), so the split is even give or take two.
  expect(Math.abs((perPort.get(gw1.tcpPort) ?? 0) - (perPort.get(gw2.tcpPort) ?? 0))).toBeLessThanOrEqual(2);
});
