// The pressure tool's load for fault scenarios: N pairs of TeamTalk clients
// send to each other at a fixed rate while the caller breaks the cluster.
// Unlike runPressure, a client whose connection dies does what a TeamTalk
// client does: it asks the login server for a gateway again (with jittered
// backoff), logs in again and pulls what it missed (IMUnreadMsgCnt, then
// IMGetMsgList pages). Every outcome goes to a FaultLedger.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SessionType, TeamTalkClient, isClientError } from '@tiertalk/client';
import { ReconnectBackoff } from '@tiertalk/rpc';
import { encodeBody, parseBody } from './body';
import { FaultLedger, type FaultSummary } from './fault-ledger';
import type { GatewayAddr } from './options';
import { gatewayForClient } from './pairing';
import { mapLimit, sleep } from './run';

export interface FaultLoadOptions {
  /** Bench user names, 2 × pairs of them (client 2i talks to 2i + 1). */
  names: readonly string[];
  password: string;
  /** Messages per second each client sends. */
  ratePerClient: number;
  /** The deadline of a send: past it without an ACK it counts as unanswered. */
  ackTimeoutMs: number;
  /** Where the clients log in first; a pair's two ends go to different ones. */
  gateways: readonly GatewayAddr[];
  /** Where a client whose connection died logs in again (the login server's choice). */
  reconnectTo(): Promise<GatewayAddr>;
  warn(line: string): void;
}

const SINGLE = SessionType.SESSION_TYPE_SINGLE;
const CONNECT_CONCURRENCY = 32;
const SCHEDULER_TICK_MS = 5;
const PULL_PAGE = 100;
const LOGOUT_TIMEOUT_MS = 5000;
/** After the last missing delivery arrived, late copies (duplicates) are awaited this long. */
const QUIET_MS = 1000;
/** How long clients get to log in again once sending stopped. */
const RELOGIN_WAIT_MS = 30_000;
const DRAIN_POLL_MS = 200;

interface Slot {
  name: string;
  client: TeamTalkClient | undefined;
  userId: number;
  /** Set while the client is logging in again. */
  reconnecting: Promise<void> | undefined;
}

export class FaultLoad {
  readonly ledger: FaultLedger;
  private readonly runId = randomBytes(4).toString('hex');
  private readonly partner: number[];
  private readonly slots: Slot[];
  private readonly nextSeq: number[];
  private open = 0;
  private scheduler: NodeJS.Timeout | undefined;
  private finishing = false;
  private lastDeliveryAt = performance.now();
  private readonly failures: string[] = [];

  private constructor(private readonly opts: FaultLoadOptions) {
    const n = opts.names.length;
    if (n === 0 || n % 2 !== 0) throw new Error(`FaultLoad: need an even number of clients, got ${n}`);
    this.partner = Array.from({ length: n }, (_, i) => i ^ 1);
    this.ledger = new FaultLedger(this.partner);
    this.slots = opts.names.map((name) => ({ name, client: undefined, userId: 0, reconnecting: undefined }));
    this.nextSeq = new Array<number>(n).fill(0);
  }

  /** Logs every client in (not sending yet). */
  static async connect(opts: FaultLoadOptions): Promise<FaultLoad> {
    const load = new FaultLoad(opts);
    try {
      await mapLimit(load.slots, CONNECT_CONCURRENCY, async (_, i) => {
        await load.login(i, opts.gateways[gatewayForClient(i, opts.gateways.length)]);
      });
    } catch (err) {
      load.closeAll();
      throw err;
    }
    return load;
  }

  /** Client c's n-th message is due at (n - c/N) / rate: the senders do not fire together. */
  startSending(): void {
    const t0 = performance.now();
    this.ledger.startWindow(t0);
    const n = this.slots.length;
    this.scheduler = setInterval(() => {
      const t = (performance.now() - t0) / 1000;
      for (let c = 0; c < n; c += 1) {
        const due = Math.floor(this.opts.ratePerClient * t + c / n);
        // A client that is logging in again sends nothing meanwhile (as a user could not).
        if (!this.canSend(c)) this.nextSeq[c] = Math.max(this.nextSeq[c], due);
        while (this.nextSeq[c] < due) this.send(c);
      }
    }, SCHEDULER_TICK_MS);
  }

  /** Idempotent: the stall window ends at the first call. */
  stopSending(): void {
    if (!this.scheduler) return;
    clearInterval(this.scheduler);
    this.scheduler = undefined;
    this.ledger.endWindow(performance.now());
  }

  /**
   * Waits for every send to be answered or to pass its deadline, for every
   * client to be logged in again, and for deliveries to go quiet (at most
   * `drainMs` after that); then logs everyone out and judges.
   */
  async finish(drainMs: number): Promise<FaultSummary & { failures: string[] }> {
    this.stopSending();
    // Each send settles by its own timer (ACK timeout), so this ends.
    while (this.open > 0) await sleep(50);
    const relogins = this.slots.map((s) => s.reconnecting).filter((p) => p !== undefined);
    if (relogins.length > 0) {
      const done = new AbortController();
      const gaveUp = sleep(RELOGIN_WAIT_MS, done.signal).then(() => {
        // Ends the reconnect loops; they report who stayed out.
        if (!done.signal.aborted) this.finishing = true;
      });
      await Promise.race([Promise.allSettled(relogins), gaveUp]);
      done.abort();
    }
    // Until every ACKed message arrived (or the drain time is up), then a quiet second for late copies.
    const drainUntil = performance.now() + drainMs;
    while (performance.now() < drainUntil) {
      if (this.ledger.summary().lost === 0 && performance.now() - this.lastDeliveryAt >= QUIET_MS) break;
      await sleep(DRAIN_POLL_MS);
    }
    this.finishing = true;
    await Promise.allSettled(this.slots.map((s) => this.logout(s.client)));
    return { ...this.ledger.summary(), failures: this.failures.slice(0, 10) };
  }

  /** Closes every client at once (clean-up after a failure). */
  closeAll(): void {
    this.finishing = true;
    this.stopSending();
    for (const s of this.slots) s.client?.close('fault load closed');
  }

  private canSend(c: number): boolean {
    const client = this.slots[c].client;
    return client !== undefined && !client.isClosed && this.slots[c].reconnecting === undefined && this.slots[this.partner[c]].userId !== 0;
  }

  private send(c: number): void {
    const seq = this.nextSeq[c]++;
    const client = this.slots[c].client;
    if (!client) return;
    this.ledger.recordSend(c, seq);
    this.open += 1;
    const body = encodeBody({ runId: this.runId, sender: c, seq, sentAtMs: performance.now() });
    client.sendText(this.slots[this.partner[c]].userId, body, { timeoutMs: this.opts.ackTimeoutMs }).then(
      (ack) => {
        this.open -= 1;
        this.ledger.recordAck(c, seq, ack.msgId, performance.now());
      },
      (err: unknown) => {
        this.open -= 1;
        const code = isClientError(err) ? err.code : 'ERROR';
        // CLOSED: the sender's own connection died first; nobody could answer on it.
        this.ledger.recordOutcome(c, seq, code === 'NOT_STORED' ? 'refused' : code === 'CLOSED' ? 'cut' : 'unanswered');
      },
    );
  }

  private async login(c: number, addr: GatewayAddr): Promise<void> {
    const slot = this.slots[c];
    const client = await TeamTalkClient.connect({
      host: addr.host,
      port: addr.port,
      requestTimeoutMs: this.opts.ackTimeoutMs,
      // Duplicates are what we measure: see every copy.
      suppressDuplicates: false,
    });
    try {
      const res = await client.login(slot.name, this.opts.password);
      slot.userId = res.userId;
    } catch (err) {
      client.close();
      throw new Error(`login of ${slot.name} at ${addr.host}:${addr.port} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    slot.client = client;
    client.on('message', (msg) => {
      const f = parseBody(msg.msgData);
      if (!f || f.runId !== this.runId) return;
      this.lastDeliveryAt = performance.now();
      this.ledger.recordCopy(c, f.sender, f.seq, msg.msgId, 'live');
    });
    client.on('error', () => undefined);
    client.on('close', () => {
      // A failed re-login closes its own attempt; the running reconnect() retries.
      if (this.finishing || slot.client !== client || slot.reconnecting) return;
      slot.reconnecting = this.reconnect(c).finally(() => {
        slot.reconnecting = undefined;
      });
    });
  }

  /** Log in again wherever the login server says, retrying with jittered backoff, then pull what was missed. */
  private async reconnect(c: number): Promise<void> {
    const slot = this.slots[c];
    const backoff = new ReconnectBackoff({ initialMs: 100, maxMs: 1000 });
    let lastError = '';
    while (!this.finishing) {
      await sleep(backoff.next());
      try {
        await this.login(c, await this.opts.reconnectTo());
        this.ledger.recordReconnect(c);
        await this.pullMissed(c);
        return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        // A half-done login leaves its connection to the next attempt's clean-up.
        if (slot.client && !slot.client.isClosed) slot.client.close('re-login failed');
      }
    }
    this.failures.push(`${slot.name} not logged in again: ${lastError}`);
  }

  /** docs/FLOWS.md §7: unread counters, then history pages back to the first message of this run. */
  private async pullMissed(c: number): Promise<void> {
    const client = this.slots[c].client;
    const peer = this.slots[this.partner[c]].userId;
    if (!client) return;
    await client.unreadCounts();
    let begin = 0;
    for (;;) {
      const page = await client.messageList(SINGLE, peer, begin, PULL_PAGE);
      let older = false;
      let lowest = Number.MAX_SAFE_INTEGER;
      for (const m of page.msgList) {
        lowest = Math.min(lowest, m.msgId);
        const f = parseBody(m.msgData);
        if (!f || f.runId !== this.runId) {
          older = true;
          continue;
        }
        this.ledger.recordCopy(c, f.sender, f.seq, m.msgId, 'pull');
      }
      if (older || page.msgList.length < PULL_PAGE || lowest <= 1) return;
      begin = lowest - 1;
    }
  }

  private async logout(client: TeamTalkClient | undefined): Promise<void> {
    if (!client || client.isClosed) return;
    const timer = setTimeout(() => client.close('logout timed out'), LOGOUT_TIMEOUT_MS);
    try {
      await client.logout();
    } catch {
      // Logging out is courtesy here; the result is already in.
    } finally {
      clearTimeout(timer);
      client.close();
    }
  }
}
