// The well-behaved users beside the fuzzers: two logged-in clients on the same
// gateway take turns sending a 1:1 text; each round needs the sender's ACK
// (msg_id > 0) and the partner's delivery of exactly that text.
import { setTimeout as delay } from 'node:timers/promises';
import type { TeamTalkClient } from '@tiertalk/client';
import type { IM } from '@tiertalk/proto';

// A human pace, well under any per-user message limit: this is the workload, not a synchronisation.
const ROUND_GAP_MS = 100;
// The gateway answers every message within its store deadline (TT_STORE_DEADLINE_MS, 10 s),
// with msg_id 0 when it was not stored; waiting longer lets the server's answer decide, so
// only a lost ACK or delivery (a hang) times out, not a slow machine.
const ROUND_TIMEOUT_MS = 20_000;

export interface ChatReport {
  rounds: number;
  failures: string[];
  roundMs: number[];
}

function delivered(to: TeamTalkClient, fromId: number, text: string): { promise: Promise<void>; cancel(): void } {
  let onMessage: (m: IM.Message.IMMsgData) => void = () => undefined;
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`"${text}" not delivered within ${ROUND_TIMEOUT_MS} ms`)), ROUND_TIMEOUT_MS);
    // Fuzzers also write to these users; only the partner's text counts.
    onMessage = (m) => {
      if (m.fromUserId === fromId && Buffer.from(m.msgData).toString('utf8') === text) resolve();
    };
    to.on('message', onMessage);
  });
  const cancel = (): void => {
    clearTimeout(timer);
    to.off('message', onMessage);
  };
  promise.then(cancel, cancel);
  return { promise, cancel };
}

/** Chats until `stop` resolves; every failure is recorded, none is thrown. */
export async function chatUntil(a: TeamTalkClient, b: TeamTalkClient, stop: Promise<unknown>): Promise<ChatReport> {
  const report: ChatReport = { rounds: 0, failures: [], roundMs: [] };
  let stopped = false;
  void stop.finally(() => {
    stopped = true;
  });
  const aId = a.userId ?? 0;
  const bId = b.userId ?? 0;
  while (!stopped) {
    const [from, to, fromId, toId] = report.rounds % 2 === 0 ? [a, b, aId, bId] : [b, a, bId, aId];
    const text = `round ${report.rounds} from ${fromId}`;
    const started = Date.now();
    const got = delivered(to, fromId, text);
    try {
      const ack = await from.sendText(toId, text, { timeoutMs: ROUND_TIMEOUT_MS });
      if (ack.msgId <= 0) throw new Error(`ACK with msg_id ${ack.msgId}`);
      await got.promise;
      report.roundMs.push(Date.now() - started);
    } catch (err) {
      got.cancel();
      report.failures.push(`${text}: ${err instanceof Error ? err.message : String(err)}`);
      if (from.isClosed || to.isClosed) break;
    }
    report.rounds += 1;
    await delay(ROUND_GAP_MS);
  }
  return report;
}
