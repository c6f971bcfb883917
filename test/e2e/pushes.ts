// Records the server-initiated PDUs (seq 0) one client receives, so a test can
// wait for one of them or assert that none arrived.
import type { TeamTalkClient } from '@tiertalk/client';

export interface Received {
  commandId: number;
  seqNum: number;
  body: Uint8Array;
  /** Position among everything this client received (pushes and replies). */
  index: number;
}

export class PushLog {
  readonly all: Received[] = [];
  private waiters: Array<() => void> = [];

  constructor(client: TeamTalkClient) {
    client.on('pdu', (p) => {
      this.all.push({ commandId: p.commandId, seqNum: p.seqNum, body: p.body, index: this.all.length });
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    });
  }

  /** Decoded pushes (seq 0) of that command received so far. */
  of<T>(commandId: number, decode: (b: Uint8Array) => T): T[] {
    return this.all.filter((r) => r.commandId === commandId && r.seqNum === 0).map((r) => decode(r.body));
  }

  /** Resolves with the first push of that command (received from `from` on) that matches; rejects after timeoutMs. */
  async next<T extends object>(commandId: number, decode: (b: Uint8Array) => T, match: (m: T) => boolean = () => true, timeoutMs = 5000, from = 0): Promise<T & { index: number }> {
    const r = await this.waitFor((x) => x.commandId === commandId && x.seqNum === 0 && match(decode(x.body)), timeoutMs, `push 0x${commandId.toString(16)} matching`, from);
    return Object.assign(decode(r.body), { index: r.index });
  }

  /** Resolves with the first PDU (received from `from` on) that passes `match`; rejects after timeoutMs. */
  async waitFor(match: (r: Received) => boolean, timeoutMs = 5000, what = 'a matching PDU', from = 0): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (let i = from; ; ) {
      for (; i < this.all.length; i++) if (match(this.all[i])) return this.all[i];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Index of the first received PDU of that command (any seq), or -1. */
  indexOf(commandId: number): number {
    return this.all.findIndex((r) => r.commandId === commandId);
  }

  /** Marks "now": pass it as `from` to next() to ignore what came before. */
  get mark(): number {
    return this.all.length;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
