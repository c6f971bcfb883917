// Two db-proxies; the one a conversation hashes to is frozen (SIGSTOP) and then
// killed with SIGKILL while its sender keeps sending, a burst in flight. Every send must get an
// answer, every ACKed message must be in MySQL exactly once, and the sends after
// the kill must be ACKed (by the survivor) — docs/RELIABILITY.md "A send always
// gets an answer".
import { TeamTalkClient, isClientError } from '@tiertalk/client';
import { rendezvousPick } from '@tiertalk/rpc';
import { waitFor } from '@tiertalk/testkit';
import type { GatewayInfo } from '@tiertalk/testkit';
import { ANDROID, DEMO_PASSWORD, PC, storedMessages, userId } from './helpers';
import { e2eSuite } from './suite';

jest.setTimeout(120_000);

const STORE_DEADLINE_MS = 20_000;
// A store deadline that outlasts a db-proxy start on a busy test machine (the second test).
const suite = e2eSuite('store-failover', { dbProxy: 2, route: 1, msg: 1, serviceEnv: { msg: { TT_STORE_DEADLINE_MS: String(STORE_DEADLINE_MS) } } });

interface Send {
  text: string;
  sentAt: number;
  answer?: { ok: true; msgId: number } | { ok: false; code: string };
}

/** A client whose send timeout outlasts the gateway's store deadline: an ACK_TIMEOUT means "no answer". */
async function sender(gw: GatewayInfo, user: string, clientType: number): Promise<TeamTalkClient> {
  const c = await TeamTalkClient.connect({ host: '127.0.0.1', port: gw.tcpPort, heartbeatMs: 0, requestTimeoutMs: STORE_DEADLINE_MS + 10_000 });
  suite.track(c);
  await c.login(user, DEMO_PASSWORD, { clientType });
  return c;
}

function send(c: TeamTalkClient, to: number, text: string, into: Send[]): void {
  const s: Send = { text, sentAt: Date.now() };
  into.push(s);
  c.sendText(to, text).then(
    (ack) => (s.answer = { ok: true, msgId: ack.msgId }),
    (err: unknown) => (s.answer = { ok: false, code: isClientError(err) ? err.code : String(err) }),
  );
}

it('a db-proxy SIGKILLed while a client sends: every send answered, every ACKed message stored exactly once, later sends ACKed by the survivor', async () => {
  const [gw] = suite.cluster.gateways();
  const aliceId = await userId(suite.pool, 'alice');
  const bobId = await userId(suite.pool, 'bob');
  // The gateway routes a 1:1 conversation by rendezvous hash of "<min>:<max>" over the instance ids.
  const victim = rendezvousPick(`${Math.min(aliceId, bobId)}:${Math.max(aliceId, bobId)}`, ['db-proxy-1', 'db-proxy-2']);
  if (!victim) throw new Error('no victim');

  const steady = await sender(gw, 'alice', PC);
  // A second device of alice: its own per-connection rate limit, for a burst in flight at the kill.
  const burst = await sender(gw, 'alice', ANDROID);
  const sends: Send[] = [];
  let n = 0;
  const timer = setInterval(() => send(steady, bobId, `sf steady ${++n}`, sends), 70);
  try {
    await waitFor(() => sends.filter((s) => s.answer?.ok).length >= 15, 15_000);
    // Frozen first, so the conversation's items are surely unanswered on the victim when it dies.
    suite.cluster.process(victim).kill('SIGSTOP');
    for (let i = 1; i <= 18; i += 1) send(burst, bobId, `sf burst ${i}`, sends);
    await waitFor(() => sends.some((s) => s.answer === undefined && Date.now() - s.sentAt > 1000), 10_000);
    await suite.cluster.kill(victim, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => sends.filter((s) => s.sentAt > killedAt && s.answer !== undefined).length >= 30, 20_000);
  } finally {
    clearInterval(timer);
  }
  await waitFor(() => sends.every((s) => s.answer !== undefined), STORE_DEADLINE_MS + 5_000);

  // Every send answered, and with a survivor up, answered with an ACK.
  const refused = sends.filter((s) => !s.answer?.ok);
  expect(refused).toEqual([]);

  const rows = (await storedMessages(suite.pool, aliceId, bobId)).filter((r) => r.content.startsWith('sf '));
  const byText = new Map<string, number[]>();
  for (const r of rows) byText.set(r.content, [...(byText.get(r.content) ?? []), r.msgId]);
  for (const s of sends) {
    const msgId = s.answer?.ok ? s.answer.msgId : undefined;
    expect({ text: s.text, ids: byText.get(s.text) }).toEqual({ text: s.text, ids: [msgId] });
  }
  expect(rows).toHaveLength(sends.length);
  expect(suite.cluster.instanceInfo().find((i) => i.name === victim)?.alive).toBe(false);
});

it('with no db-proxy live, sends wait and are ACKed, each stored once, when a new instance registers', async () => {
  const [gw] = suite.cluster.gateways();
  const carolId = await userId(suite.pool, 'carol');
  const daveId = await userId(suite.pool, 'dave');
  const carol = await sender(gw, 'carol', PC);
  for (const i of suite.cluster.instanceInfo()) if (i.service === 'db-proxy' && i.alive) await suite.cluster.kill(i.name, 'SIGKILL');
  const sends: Send[] = [];
  for (let i = 1; i <= 10; i += 1) send(carol, daveId, `nw ${i}`, sends);
  // Sent while no db-proxy lives: stored only by the instance started now, within the deadline.
  await suite.cluster.startInstance('db-proxy');
  await waitFor(() => sends.every((s) => s.answer !== undefined), STORE_DEADLINE_MS + 5_000);
  expect(sends.filter((s) => !s.answer?.ok)).toEqual([]);
  const rows = (await storedMessages(suite.pool, carolId, daveId)).filter((r) => r.content.startsWith('nw '));
  expect(rows.map((r) => r.content).sort()).toEqual(sends.map((s) => s.text).sort());
  for (const s of sends) expect(rows.find((r) => r.content === s.text)?.msgId).toBe(s.answer?.ok ? s.answer.msgId : undefined);
});
