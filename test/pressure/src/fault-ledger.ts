// Bookkeeping of one fault scenario: every send and its outcome, every copy a
// receiver got (live push, or history pull after it logged in again), and the
// msg ids per conversation. Pure: the load driver feeds it, summary() judges.
export type SendOutcome = 'acked' | 'refused' | 'unanswered' | 'cut';
export type DeliveryPath = 'live' | 'pull';

export interface FaultSummary {
  sent: number;
  /** IMMsgDataAck with a msg id: stored. */
  acked: number;
  /** IMMsgDataAck with msg id 0: an explicit "not stored". */
  refused: number;
  /** No answer within the deadline (ACK timeout) on a connection that stayed up. */
  unanswered: number;
  /** The sender's own connection died before the answer (its gateway was killed): nobody could answer. */
  cut: number;
  /** ACKed, but never reached the receiver: not live, nor (after the receiver logged in again) by its pull. */
  lost: number;
  /** Extra live copies of one message to its receiver, plus extra stored copies (one message under two msg ids). */
  duplicates: number;
  /** Msg ids that named two different messages in one conversation. */
  reused: number;
  /** Longest time in the sending window without any ACK, ms. */
  stallMs: number;
  /** ACKed messages the receiver got only by its pull after logging in again. */
  pulledOnly: number;
  /** Re-logins of clients that lost their connection. */
  reconnects: number;
  /** Of `lost`, those whose receiver had logged in again (the rest went to receivers that stayed connected). */
  lostAfterRelogin: number;
  /**
   * Live messages a receiver got with a lower msg id than one it had already
   * got live from the same sender (what a client sees of id order; measured,
   * not required: ids rise in commit order, see docs/RELIABILITY.md).
   */
  outOfOrder: number;
}

interface SendRecord {
  conversation: number;
  receiver: number;
  outcome?: SendOutcome;
  msgId?: number;
}

interface Copies {
  live: number;
  pulled: boolean;
  msgIds: Set<number>;
}

const key = (sender: number, seq: number): string => `${sender}:${seq}`;

export class FaultLedger {
  private readonly sends = new Map<string, SendRecord>();
  private readonly copies = new Map<string, Copies>();
  /** conversation → msg id → the message keys it named. */
  private readonly ids = new Map<number, Map<number, Set<string>>>();
  private readonly ackTimes: number[] = [];
  private windowStart: number | undefined;
  private windowEnd: number | undefined;
  private reconnectCount = 0;
  private readonly relogged = new Set<number>();
  /** receiver → highest msg id it got live (each receiver has one sender, its partner). */
  private readonly highestLive = new Map<number, number>();
  private outOfOrderCount = 0;

  /** `partner[c]` is who client c sends to; a conversation is named by its lower client index. */
  constructor(private readonly partner: readonly number[]) {}

  startWindow(at: number): void {
    this.windowStart = at;
  }

  endWindow(at: number): void {
    this.windowEnd = at;
  }

  recordSend(sender: number, seq: number): void {
    const receiver = this.partner[sender];
    this.sends.set(key(sender, seq), { conversation: Math.min(sender, receiver), receiver });
  }

  recordAck(sender: number, seq: number, msgId: number, at: number): void {
    const rec = this.send(sender, seq);
    rec.outcome = 'acked';
    rec.msgId = msgId;
    this.ackTimes.push(at);
    this.noteId(rec.conversation, msgId, key(sender, seq));
  }

  recordOutcome(sender: number, seq: number, outcome: Exclude<SendOutcome, 'acked'>): void {
    this.send(sender, seq).outcome = outcome;
  }

  /** A copy of (sender, seq) under msgId reached `receiver`. */
  recordCopy(receiver: number, sender: number, seq: number, msgId: number, path: DeliveryPath): void {
    if (this.partner[receiver] !== sender) return;
    const k = key(sender, seq);
    let c = this.copies.get(k);
    if (!c) {
      c = { live: 0, pulled: false, msgIds: new Set() };
      this.copies.set(k, c);
    }
    if (path === 'live') {
      c.live += 1;
      const highest = this.highestLive.get(receiver) ?? 0;
      if (c.live === 1 && msgId < highest) this.outOfOrderCount += 1;
      this.highestLive.set(receiver, Math.max(highest, msgId));
    } else c.pulled = true;
    c.msgIds.add(msgId);
    this.noteId(Math.min(sender, receiver), msgId, k);
  }

  recordReconnect(client: number): void {
    this.reconnectCount += 1;
    this.relogged.add(client);
  }

  summary(): FaultSummary {
    const s: FaultSummary = {
      sent: this.sends.size,
      acked: 0,
      refused: 0,
      unanswered: 0,
      cut: 0,
      lost: 0,
      duplicates: 0,
      reused: 0,
      stallMs: this.stall(),
      pulledOnly: 0,
      reconnects: this.reconnectCount,
      lostAfterRelogin: 0,
      outOfOrder: this.outOfOrderCount,
    };
    for (const [k, rec] of this.sends) {
      // A send still open at the end had no answer at all.
      const outcome = rec.outcome ?? 'unanswered';
      s[outcome] += 1;
      const c = this.copies.get(k);
      if (outcome === 'acked') {
        if (!c) {
          s.lost += 1;
          if (this.relogged.has(rec.receiver)) s.lostAfterRelogin += 1;
        } else if (c.live === 0) s.pulledOnly += 1;
      }
      if (c) {
        if (rec.msgId !== undefined) c.msgIds.add(rec.msgId);
        s.duplicates += Math.max(0, c.live - 1) + Math.max(0, c.msgIds.size - 1);
      }
    }
    for (const byId of this.ids.values()) for (const keys of byId.values()) s.reused += keys.size - 1;
    return s;
  }

  private send(sender: number, seq: number): SendRecord {
    const rec = this.sends.get(key(sender, seq));
    if (!rec) throw new Error(`FaultLedger: outcome of unknown send ${key(sender, seq)}`);
    return rec;
  }

  private noteId(conversation: number, msgId: number, k: string): void {
    let byId = this.ids.get(conversation);
    if (!byId) {
      byId = new Map();
      this.ids.set(conversation, byId);
    }
    const keys = byId.get(msgId);
    if (keys) keys.add(k);
    else byId.set(msgId, new Set([k]));
  }

  /** Longest gap between consecutive ACKs, counting the window's start and end as edges. */
  private stall(): number {
    if (this.windowStart === undefined) return 0;
    const start = this.windowStart;
    const end = this.windowEnd ?? this.ackTimes.reduce((a, b) => Math.max(a, b), start);
    const times = this.ackTimes.filter((t) => t >= start && t <= end).sort((a, b) => a - b);
    let prev = start;
    let longest = 0;
    for (const t of [...times, end]) {
      longest = Math.max(longest, t - prev);
      prev = t;
    }
    return Math.round(longest);
  }
}
