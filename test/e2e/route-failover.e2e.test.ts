// Issue 10, delivery to the receiver: two route instances; the one carrying
// the sender's gateway's Deliver stream is SIGKILLed while its pushes to the
// receiver's gateway are still in its memory. To make that window certain
// (not a matter of luck), the receiver's gateway is stopped (SIGSTOP) for a
// moment first: route's pushes to it pile up unacknowledged behind HTTP/2 flow
// control, then route dies with them. Because route reports a Deliver batch
// only once the gateway acknowledged its pushes, the sender's gateway still
// holds those envelopes and sends them to the other route: the receiver gets
// every ACKed message exactly once, without logging in again.
import type { IM } from '@tiertalk/proto';
import { waitFor } from '@tiertalk/testkit';
import { loggedIn, userId } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(120_000);

// Sends in flight at once, so the pushes of the stopped moment outgrow the flow-control window.
const SEND_WINDOW = 32;
// Pushes to pile up behind the stopped gateway, each with a long text: well
// beyond HTTP/2's 64 KiB window, so route holds them in its memory when killed.
const PILED_UP = 2_000;
const PADDING = 'x'.repeat(400);
const MAX_STOP_MS = 3_000;

// A long lease: the stopped gateway must stay registered (its sessions too) while stopped.
const suite = e2eSuite('route-failover', { dbProxy: 1, route: 2, msg: 2, env: { TT_LEASE_TTL_SEC: '10', TT_MSG_RATE_PER_SEC: '1000000' } }, { waitForLogouts: false });

/** The route instance the gateway's Deliver stream goes to now (from its log). */
function deliverRouteOf(gatewayName: string): string | undefined {
  let route: string | undefined;
  for (const line of suite.cluster.logTail(gatewayName, 2_000).split('\n')) {
    if (!line.includes('deliver stream opened')) continue;
    try {
      route = (JSON.parse(line) as { instance?: string }).instance ?? route;
    } catch {
      // a partial last line
    }
  }
  return route;
}

it('delivers every ACKed message once to an online receiver when one of two routes is killed with pushes unacknowledged', async () => {
  const [gw1, gw2] = suite.cluster.gateways();
  const bobId = await userId(suite.pool, 'bob');
  const alice = await loggedIn(gw1, 'alice');
  const bob = await loggedIn(gw2, 'bob');
  for (const c of [alice, bob]) suite.track(c);

  const acked = new Set<number>();
  const received = new Map<number, number>();
  bob.on('message', (m: IM.Message.IMMsgData) => received.set(m.msgId, (received.get(m.msgId) ?? 0) + 1));
  let n = 0;
  let sending = true;
  const sender = async (): Promise<void> => {
    while (sending) {
      // A refused send (msg_id 0 / timeout) is allowed here: only ACKed ones must arrive.
      const ack = await alice.sendText(bobId, `f${++n} ${PADDING}`).catch(() => undefined);
      if (ack && ack.msgId > 0) acked.add(ack.msgId);
    }
  };
  const senders = Array.from({ length: SEND_WINDOW }, () => sender());

  await waitFor(() => received.size >= 50, 10_000);
  const route = deliverRouteOf(gw1.name);
  expect(route).toMatch(/^route-\d$/);
  const receiverGateway = suite.cluster.process(gw2.name);
  receiverGateway.kill('SIGSTOP');
  try {
    const before = acked.size;
    // Bounded well below the lease: the stopped gateway must not leave etcd.
    await waitFor(() => acked.size >= before + PILED_UP, MAX_STOP_MS).catch(() => undefined);
    await suite.cluster.kill(route as string, 'SIGKILL');
  } finally {
    receiverGateway.kill('SIGCONT');
  }
  // Sends go on through the surviving route.
  const afterKill = received.size;
  await waitFor(() => received.size >= afterKill + 50, 15_000);
  sending = false;
  await Promise.all(senders);

  // Marker: sent last, so once bob has it every earlier message had its chance.
  const marker = await alice.sendText(bobId, 'marker');
  acked.add(marker.msgId);
  await waitFor(() => received.has(marker.msgId), 10_000);
  await waitFor(() => [...acked].every((id) => received.has(id)), 10_000).catch(() => undefined);

  const missing = [...acked].filter((id) => !received.has(id));
  expect(missing).toEqual([]);
  const repeated = [...received].filter(([, count]) => count > 1).map(([id]) => id);
  expect(repeated).toEqual([]);
});
