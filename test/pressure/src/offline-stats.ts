// Bookkeeping of an offline run (--mode offline): sender i sends messages
// (i, seq) to receiver i while it is offline; the receiver then pulls its
// history. Every ACKed message must be pulled exactly once, message ids of a
// session must not be reused, and the unread counter must cover what was ACKed.
import type { BodyFields } from './body';

export interface Percentiles {
  count: number;
  /** Milliseconds. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface OfflineSummary {
  senders: number;
  sent: number;
  /** ACKed = committed to MySQL and counted unread (docs/FLOWS.md §4). */
  acked: number;
  failed: number;
  failedByCode: Record<string, number>;
  /** Distinct messages of this run found in the receivers' history. */
  pulled: number;
  /** ACKed but not in the receiver's history. */
  lost: number;
  /** Messages found more than once in a history. */
  duplicated: number;
  /** In the history although the send got no ACK (stored, the ACK was lost or late). */
  pulledUnacked: number;
  /** Rows newer than the run's start that are not a message of the receiver's sender in this run. */
  misrouted: number;
  /** Message ids given to two different messages of one session (ACKs or history). */
  idsReused: number;
  /** Ids between the session's last id before the run and its highest ACKed id that no ACK carried. */
  idGaps: number;
  /** Sessions checked against their unread counter. */
  unreadChecked: number;
  /** Sessions whose unread counter was below what was ACKed. */
  unreadShort: number;
  /** Receivers whose pull failed (their ACKed messages count as lost). */
  pullFailures: number;
  /** Seconds from the first send to the last ACK or failure. */
  storeSec: number;
  /** Seconds from the first receiver's login to the last pull's end. */
  pullPhaseSec: number;
  /** Per receiver: unread request through the last history page. */
  pullMs: Percentiles;
  /** History requests in all. */
  pages: number;
}

/** Nearest-rank percentiles of a few hundred samples (exact, no histogram needed). */
export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => (sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]);
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length === 0 ? 0 : sorted[sorted.length - 1] };
}

interface Session {
  /** The session's newest msg id before the run. */
  baseline: number;
  /** seq → msg id of its ACK. */
  ackedIds: Map<number, number>;
  failed: Set<number>;
  sent: number;
  /** seq → copies found in the history. */
  pulledCopies: Map<number, number>;
  /** msg id → seq, from the ACKs and the history. */
  idOwner: Map<number, number>;
  reusedIds: Set<number>;
}

/** Where the history of a session stops: the next page's msg_id_begin, or undefined when the run's messages are all listed. */
export function nextPageBegin(baseline: number, page: readonly { msgId: number }[], begin: number): number | undefined {
  if (page.length === 0) return undefined;
  const lowest = Math.min(...page.map((m) => m.msgId));
  if (lowest <= baseline + 1) return undefined;
  // docs/FLOWS.md §7.2: msg_id_begin is inclusive, so the next page starts below the lowest id seen.
  const next = lowest - 1;
  if (begin !== 0 && next >= begin) throw new Error(`history did not move below msg id ${begin + 1} (page lowest ${lowest})`);
  return next;
}

export class OfflineLedger {
  private readonly sessions: Session[];
  private readonly failedByCode: Record<string, number> = {};
  private readonly pullTimes: number[] = [];
  private pullFailures = 0;
  private pages = 0;
  private unreadChecked = 0;
  private unreadShort = 0;
  private misrouted = 0;
  storeSec = 0;
  pullPhaseSec = 0;

  constructor(
    readonly senders: number,
    private readonly runId: string,
  ) {
    this.sessions = Array.from({ length: senders }, () => ({
      baseline: 0,
      ackedIds: new Map(),
      failed: new Set(),
      sent: 0,
      pulledCopies: new Map(),
      idOwner: new Map(),
      reusedIds: new Set(),
    }));
  }

  setBaseline(sender: number, latestMsgId: number): void {
    this.sessions[sender].baseline = latestMsgId;
  }

  baseline(sender: number): number {
    return this.sessions[sender].baseline;
  }

  ackedCount(sender: number): number {
    return this.sessions[sender].ackedIds.size;
  }

  recordSend(sender: number): void {
    this.sessions[sender].sent += 1;
  }

  recordAck(sender: number, seq: number, msgId: number): void {
    const s = this.sessions[sender];
    s.ackedIds.set(seq, msgId);
    this.claimId(s, msgId, seq);
  }

  recordFailure(sender: number, seq: number, code: string): void {
    this.sessions[sender].failed.add(seq);
    this.failedByCode[code] = (this.failedByCode[code] ?? 0) + 1;
  }

  /** One history row of receiver `receiver` (paired with sender `receiver`); rows up to the baseline are not this run's. */
  recordPulled(receiver: number, msgId: number, body: BodyFields | undefined): void {
    const s = this.sessions[receiver];
    if (msgId <= s.baseline) return;
    if (!body || body.runId !== this.runId || body.sender !== receiver) {
      this.misrouted += 1;
      return;
    }
    s.pulledCopies.set(body.seq, (s.pulledCopies.get(body.seq) ?? 0) + 1);
    this.claimId(s, msgId, body.seq);
  }

  recordUnread(reported: number, expectedAtLeast: number): void {
    this.unreadChecked += 1;
    if (reported < expectedAtLeast) this.unreadShort += 1;
  }

  recordPull(ms: number, pages: number): void {
    this.pullTimes.push(ms);
    this.pages += pages;
  }

  recordPullFailure(pages: number): void {
    this.pullFailures += 1;
    this.pages += pages;
  }

  summary(): OfflineSummary {
    let sent = 0;
    let acked = 0;
    let failed = 0;
    let pulled = 0;
    let lost = 0;
    let duplicated = 0;
    let pulledUnacked = 0;
    let idsReused = 0;
    let idGaps = 0;
    for (const s of this.sessions) {
      sent += s.sent;
      acked += s.ackedIds.size;
      failed += s.failed.size;
      pulled += s.pulledCopies.size;
      idsReused += s.reusedIds.size;
      for (const seq of s.ackedIds.keys()) if (!s.pulledCopies.has(seq)) lost += 1;
      for (const [seq, copies] of s.pulledCopies) {
        if (copies > 1) duplicated += 1;
        if (!s.ackedIds.has(seq)) pulledUnacked += 1;
      }
      const ids = new Set(s.ackedIds.values());
      if (ids.size > 0) idGaps += Math.max(0, Math.max(...ids) - s.baseline - ids.size);
    }
    return {
      senders: this.senders,
      sent,
      acked,
      failed,
      failedByCode: { ...this.failedByCode },
      pulled,
      lost,
      duplicated,
      pulledUnacked,
      misrouted: this.misrouted,
      idsReused,
      idGaps,
      unreadChecked: this.unreadChecked,
      unreadShort: this.unreadShort,
      pullFailures: this.pullFailures,
      storeSec: this.storeSec,
      pullPhaseSec: this.pullPhaseSec,
      pullMs: percentiles(this.pullTimes),
      pages: this.pages,
    };
  }

  private claimId(s: Session, msgId: number, seq: number): void {
    const owner = s.idOwner.get(msgId);
    if (owner === undefined) s.idOwner.set(msgId, seq);
    else if (owner !== seq) s.reusedIds.add(msgId);
  }
}
