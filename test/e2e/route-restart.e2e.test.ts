// Issue 10: the only route instance is SIGKILLed while alice keeps sending to
// bob, who stays online on another gateway. Sends keep being ACKed (db-proxy
// stores them); the gateway holds what route did not report and sends it again
// once a route is back, and bob's gateway drops repeats: bob gets every ACKed
// message exactly once, without logging in again.
import type { IM } from '@tiertalk/proto';
import { waitFor } from '@tiertalk/testkit';
import { loggedIn, userId } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(120_000);

const suite = e2eSuite('route-restart', { dbProxy: 1, route: 1, msg: 2, env: { TT_LEASE_TTL_SEC: '3', TT_MSG_RATE_PER_SEC: '100000' } });

it('delivers every ACKed message once to an online receiver across a kill -9 and restart of the only route', async () => {
  const [gw1, gw2] = suite.cluster.gateways();
  const bobId = await userId(suite.pool, 'bob');
  const alice = await loggedIn(gw1, 'alice');
  const bob = await loggedIn(gw2, 'bob');
  for (const c of [alice, bob]) suite.track(c);

  const acked = new Map<number, string>();
  const received = new Map<number, number>();
  bob.on('message', (m: IM.Message.IMMsgData) => received.set(m.msgId, (received.get(m.msgId) ?? 0) + 1));
  let n = 0;
  let sending = true;
  const sendLoop = (async () => {
    while (sending) {
      const text = `r${++n}`;
      // A refused send (msg_id 0 / timeout) is allowed here: only ACKed ones must arrive.
      const ack = await alice.sendText(bobId, text).catch(() => undefined);
      if (ack && ack.msgId > 0) acked.set(ack.msgId, text);
      await new Promise((r) => setImmediate(r));
    }
  })();

  await waitFor(() => received.size >= 20, 10_000);
  await suite.cluster.kill('route-1', 'SIGKILL');
  const ackedWhileDown = acked.size;
  // Sends are still ACKed with route gone: storage does not depend on it.
  await waitFor(() => acked.size >= ackedWhileDown + 20, 10_000);
  await suite.cluster.startInstance('route');
  const afterRestart = acked.size;
  await waitFor(() => acked.size >= afterRestart + 20, 10_000);
  sending = false;
  await sendLoop;

  // Marker: sent last, so once bob has it every earlier message had its chance.
  const marker = await alice.sendText(bobId, 'marker');
  acked.set(marker.msgId, 'marker');
  await waitFor(() => received.has(marker.msgId), 10_000);
  // Envelopes held by the gateway may arrive just after the marker (route reopens per gateway):
  await waitFor(() => [...acked.keys()].every((id) => received.has(id)), 10_000).catch(() => undefined);

  const missing = [...acked.keys()].filter((id) => !received.has(id));
  expect(missing).toEqual([]);
  const repeated = [...received].filter(([, count]) => count > 1).map(([id]) => id);
  expect(repeated).toEqual([]);
});
