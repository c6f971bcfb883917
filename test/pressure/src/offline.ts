// --mode offline: messages to users who are offline, then their login and pull
// (docs/FLOWS.md §7). N senders send M messages each to N receivers (sender i to
// receiver i, on another gateway when there are two); the receivers then log
// in at once and each pulls its unread counters and history pages until it has
// everything. Measures messages stored per second and the pull time per user;
// checks that every ACKed message is pulled exactly once.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SessionType, isClientError } from '@tiertalk/client';
import { encodeBody, parseBody } from './body';
import { userNames } from './options';
import { OfflineLedger, nextPageBegin, type OfflineSummary } from './offline-stats';
import { loginAll, sleep, type Peer, type RunEnv } from './run';

export interface OfflineResult {
  summary: OfflineSummary;
  scenario: string;
  interrupted: string | undefined;
  /** The first few pull failures, for the terminal. */
  pullErrors: string[];
  /** CPU this process used over the whole run, in % of one core. */
  toolCpuPercent: number;
}

const SINGLE = SessionType.SESSION_TYPE_SINGLE;
/** Time for the gateways and route to forget the receivers' sessions after logout. */
const SETTLE_MS = 500;
const LOGOUT_TIMEOUT_MS = 5000;
const SHOWN_ERRORS = 5;

async function logoutAll(peers: readonly Peer[]): Promise<void> {
  await Promise.allSettled(
    peers.map(async ({ client }) => {
      if (client.isClosed) return;
      const timer = setTimeout(() => client.close('logout timed out'), LOGOUT_TIMEOUT_MS);
      try {
        await client.logout();
      } finally {
        clearTimeout(timer);
        client.close();
      }
    }),
  );
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runOffline(env: RunEnv): Promise<OfflineResult> {
  const o = env.opts;
  const n = o.pairs;
  const names = userNames(o.usersPrefix, n * 2);
  // Client 2i sends to client 2i+1: pairs span two gateways (pairing.ts).
  const senderNames = names.filter((_, i) => i % 2 === 0);
  const receiverNames = names.filter((_, i) => i % 2 === 1);
  const cpuAtStart = process.cpuUsage();
  const t0 = performance.now();
  const runId = randomBytes(4).toString('hex');
  const ledger = new OfflineLedger(n, runId);
  const pullErrors: string[] = [];
  let interrupted: string | undefined;

  const senders = await loginAll(env, senderNames, (i) => 2 * i);
  const senderIds = senders.map((p) => p.userId);
  let receiverIds: number[] = [];
  const unreadBefore = new Array<number>(n).fill(0);
  try {
    // 1. Where each receiver's session stands before the run, then offline.
    const before = await loginAll(env, receiverNames, (i) => 2 * i + 1);
    receiverIds = before.map((p) => p.userId);
    try {
      await Promise.all(
        before.map(async ({ client }, i) => {
          const [latest, unread] = await Promise.all([client.latestMsgId(SINGLE, senderIds[i]), client.unreadCounts()]);
          ledger.setBaseline(i, latest);
          unreadBefore[i] = unread.unreadinfoList.find((u) => u.sessionType === SINGLE && u.sessionId === senderIds[i])?.unreadCnt ?? 0;
        }),
      );
    } finally {
      await logoutAll(before);
    }
    await sleep(SETTLE_MS, env.stop);
    env.out(`${n} receivers recorded their sessions and logged out; ${n} senders send ${o.messages} messages each (window ${o.window})\n`);

    // 2. Senders send to the offline receivers, `window` unACKed each.
    const storeStart = performance.now();
    await Promise.all(
      senders.map(async ({ client }, s) => {
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < o.messages && !env.stop.aborted && !client.isClosed) {
            const seq = next++;
            ledger.recordSend(s);
            try {
              const ack = await client.sendText(receiverIds[s], encodeBody({ runId, sender: s, seq, sentAtMs: performance.now() }, o.size), {
                timeoutMs: o.ackTimeoutMs,
              });
              ledger.recordAck(s, seq, ack.msgId);
            } catch (err) {
              ledger.recordFailure(s, seq, isClientError(err) ? err.code : 'ERROR');
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(o.window, o.messages) }, worker));
      }),
    );
    ledger.storeSec = (performance.now() - storeStart) / 1000;
    const stored = ledger.summary();
    env.out(`stored ${stored.acked}/${stored.sent} messages in ${ledger.storeSec.toFixed(2)} s (${Math.round(stored.acked / Math.max(ledger.storeSec, 1e-9))} msg/s), ${stored.failed} failed\n`);
    if (env.stop.aborted) interrupted = 'stopped by signal while sending';
  } finally {
    await logoutAll(senders);
  }

  // 3. The receivers log in at once and pull: unread counters, then history pages down to the baseline.
  if (!env.stop.aborted) {
    const pullStart = performance.now();
    const receivers = await loginAll(env, receiverNames, (i) => 2 * i + 1);
    try {
      await Promise.all(
        receivers.map(async ({ client }, r) => {
          const started = performance.now();
          let pages = 0;
          try {
            const unread = await client.unreadCounts();
            const entry = unread.unreadinfoList.find((u) => u.sessionType === SINGLE && u.sessionId === senderIds[r]);
            // docs/FLOWS.md §4: a message is counted unread before its ACK. The counter may be above this (a send
            // that timed out was stored anyway), never below.
            ledger.recordUnread(entry?.unreadCnt ?? 0, unreadBefore[r] + ledger.ackedCount(r));
            let begin: number | undefined = 0;
            let newest = 0;
            while (begin !== undefined) {
              const page = await client.messageList(SINGLE, senderIds[r], begin, o.page);
              pages += 1;
              for (const m of page.msgList) {
                newest = Math.max(newest, m.msgId);
                ledger.recordPulled(r, m.msgId, parseBody(m.msgData));
              }
              begin = nextPageBegin(ledger.baseline(r), page.msgList, begin);
              if (pages > o.messages + 10) throw new Error(`more than ${o.messages + 10} history pages`);
            }
            ledger.recordPull(performance.now() - started, pages);
            // Leave the session read, as a client that showed it would (docs/FLOWS.md §6).
            if (newest > 0) client.readAck(SINGLE, senderIds[r], newest);
          } catch (err) {
            ledger.recordPullFailure(pages);
            if (pullErrors.length < SHOWN_ERRORS) pullErrors.push(`${receiverNames[r]}: ${message(err)}`);
          }
        }),
      );
      ledger.pullPhaseSec = (performance.now() - pullStart) / 1000;
    } finally {
      await logoutAll(receivers);
    }
  } else {
    interrupted ??= 'stopped by signal before the pull';
  }

  const summary = ledger.summary();
  const cpu = process.cpuUsage(cpuAtStart);
  const toolCpuPercent = ((cpu.user + cpu.system) / 1000 / (performance.now() - t0)) * 100;
  const where = env.endpoints.kind === 'login' ? `via login server ${env.endpoints.loginUrl}` : `gateways ${env.endpoints.gateways.map((g) => `${g.host}:${g.port}`).join(', ')}`;
  const scenario =
    `${n} senders each send ${o.messages} messages (closed loop, window ${o.window}, body ${o.size > 0 ? `${o.size} B` : '~40 B'}) ` +
    `to their own receiver while it is offline, over ${o.transport}, ${where}, sender and receiver on different gateways when there are two; ` +
    `then the ${n} receivers log in at once and each pulls its unread counters and history pages of ${o.page} until it has every message`;
  return { summary, scenario, interrupted, pullErrors, toolCpuPercent };
}
