// --mode group: the pure bookkeeping of a group run. Deliveries per member
// and message id (bitmaps, so 2,000 members × thousands of messages stay
// small), latency from the send time in the body, messages ACKed vs found in
// history, and the CPU/RSS samples of the cluster's processes (/proc).
import { build, type Histogram } from 'hdr-histogram-js';
import type { LatencySummary } from './stats';

function newHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50) / 1000,
    p95: h.getValueAtPercentile(95) / 1000,
    p99: h.getValueAtPercentile(99) / 1000,
    max: h.maxValue / 1000,
    mean: h.mean / 1000,
  };
}

export interface GroupSummary {
  members: number;
  /** Members logged in during the run (senders included). */
  online: number;
  sent: number;
  acked: number;
  failed: number;
  /** Live copies expected: each ACKed message to every online member but its sender. */
  expectedDeliveries: number;
  /** Distinct (member, message) deliveries. */
  delivered: number;
  /** Copies beyond the first of a (member, message). */
  duplicates: number;
  /** Copies of a member's own message pushed back to the connection that sent it. */
  echoes: number;
  /** Deliveries of a message that was not ACKed (yet): fine, counted apart. */
  deliveredUnacked: number;
  /** IMMsgData frames seen on the wire by members (before any SDK dedupe). */
  rawFrames: number;
  /** expected − delivered, when everyone was online; 0 when nobody was. */
  shed: number;
  /** ACKed message ids missing from the group's history. */
  lostFromStorage: number;
  /** Message ids in history that were not ACKed to the tool (e.g. a send whose ACK timed out). */
  storedUnacked: number;
  /** Seconds of sending. */
  sendingSec: number;
  /** Seconds from the start of sending to the last delivery (at least sendingSec): deliveries/s is over this. */
  deliverySec: number;
  ackLatency: LatencySummary;
  deliveryLatency: LatencySummary;
  /** Distinct deliveries per second of the run (second 1 = first of sending). */
  deliveriesPerSecond: number[];
}

/** A growable bitmap of message ids (1-based per group). */
class IdBitmap {
  private bits = new Uint8Array(64);
  /** Sets bit `id`; returns whether it was already set. */
  testAndSet(id: number): boolean {
    const byte = id >>> 3;
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const mask = 1 << (id & 7);
    const was = (this.bits[byte] & mask) !== 0;
    this.bits[byte] |= mask;
    return was;
  }
}

export class GroupLedger {
  private readonly seen: IdBitmap[];
  private readonly ackedIds = new Set<number>();
  private readonly ackHist = newHistogram();
  private readonly deliveryHist = newHistogram();
  private readonly perSecond: number[] = [];
  sent = 0;
  failed = 0;
  delivered = 0;
  duplicates = 0;
  echoes = 0;
  rawFrames = 0;
  private deliveredUnackedIds = new Map<number, number>();
  private history: Set<number> | undefined;
  sendingSec = 0;
  private lastDeliverySec = 0;

  /** `senders`: member indexes of the senders (their own echoes are not deliveries). */
  constructor(
    readonly members: number,
    readonly online: number,
  ) {
    this.seen = Array.from({ length: members }, () => new IdBitmap());
  }

  recordSend(): void {
    this.sent += 1;
  }
  recordAck(msgId: number, ackMs: number): void {
    this.ackedIds.add(msgId);
    this.ackHist.recordValue(Math.max(1, Math.round(ackMs * 1000)));
  }
  recordFailure(): void {
    this.failed += 1;
  }
  recordRawFrame(): void {
    this.rawFrames += 1;
  }

  /**
   * One copy of group message `msgId` at member `member`; `ownMessage` when the
   * member sent it; `second` 1-based since the start of sending.
   */
  recordDelivery(member: number, msgId: number, latencyMs: number, second: number, ownMessage: boolean): void {
    if (ownMessage) {
      this.echoes += 1;
      return;
    }
    if (this.seen[member].testAndSet(msgId)) {
      this.duplicates += 1;
      return;
    }
    this.delivered += 1;
    this.deliveredUnackedIds.set(msgId, (this.deliveredUnackedIds.get(msgId) ?? 0) + 1);
    this.deliveryHist.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
    this.lastDeliverySec = Math.max(this.lastDeliverySec, second - 1);
    const s = Math.max(1, Math.floor(second));
    while (this.perSecond.length < s) this.perSecond.push(0);
    this.perSecond[s - 1] += 1;
  }

  /** The message ids the group's history holds (after the run). */
  recordHistory(ids: Iterable<number>): void {
    this.history = new Set(ids);
  }

  summary(): GroupSummary {
    const acked = this.ackedIds.size;
    let deliveredUnacked = 0;
    for (const [id, n] of this.deliveredUnackedIds) if (!this.ackedIds.has(id)) deliveredUnacked += n;
    const expected = acked * Math.max(0, this.online - 1);
    const deliveredAcked = this.delivered - deliveredUnacked;
    let lost = 0;
    let storedUnacked = 0;
    if (this.history) {
      for (const id of this.ackedIds) if (!this.history.has(id)) lost += 1;
      for (const id of this.history) if (!this.ackedIds.has(id)) storedUnacked += 1;
    }
    return {
      members: this.members,
      online: this.online,
      sent: this.sent,
      acked,
      failed: this.failed,
      expectedDeliveries: expected,
      delivered: this.delivered,
      duplicates: this.duplicates,
      echoes: this.echoes,
      deliveredUnacked,
      rawFrames: this.rawFrames,
      shed: Math.max(0, expected - deliveredAcked),
      lostFromStorage: this.history ? lost : acked,
      storedUnacked,
      sendingSec: this.sendingSec,
      deliverySec: Math.max(this.sendingSec, this.lastDeliverySec),
      ackLatency: summarize(this.ackHist),
      deliveryLatency: summarize(this.deliveryHist),
      deliveriesPerSecond: [...this.perSecond],
    };
  }
}

/** utime + stime (clock ticks) from the text of /proc/<pid>/stat; the command may hold spaces and parentheses. */
export function parseProcStatTicks(text: string): number | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields after the command start at field 3 (state); utime is field 14, stime 15.
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

/** VmRSS in bytes from the text of /proc/<pid>/status. */
export function parseVmRssBytes(text: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

export interface ProcSample {
  /** Milliseconds (monotonic). */
  atMs: number;
  ticks: number;
  rssBytes: number;
}

export interface TierUsage {
  tier: string;
  processes: number;
  /** Mean CPU over the sampled period, % of one core, summed over the tier's processes. */
  cpuPercent: number;
  /** Highest CPU of one sampling second, summed over the tier. */
  cpuPeakPercent: number;
  /** Highest RSS seen, summed over the tier's processes (MB). */
  rssMb: number;
}

/**
 * Per tier: mean and peak CPU % (ticks over wall time, summed over the tier's
 * processes) and peak RSS, from per-process sample series.
 */
export function tierUsage(series: readonly { tier: string; samples: readonly ProcSample[] }[], ticksPerSec: number): TierUsage[] {
  const tiers = new Map<string, { processes: number; cpu: number; peakBySecond: Map<number, number>; rss: number }>();
  for (const { tier, samples } of series) {
    const t = tiers.get(tier) ?? { processes: 0, cpu: 0, peakBySecond: new Map<number, number>(), rss: 0 };
    tiers.set(tier, t);
    t.processes += 1;
    if (samples.length >= 2) {
      const first = samples[0];
      const last = samples[samples.length - 1];
      const wallSec = (last.atMs - first.atMs) / 1000;
      if (wallSec > 0) t.cpu += ((last.ticks - first.ticks) / ticksPerSec / wallSec) * 100;
      for (let i = 1; i < samples.length; i += 1) {
        const dt = (samples[i].atMs - samples[i - 1].atMs) / 1000;
        if (dt <= 0) continue;
        const pct = ((samples[i].ticks - samples[i - 1].ticks) / ticksPerSec / dt) * 100;
        t.peakBySecond.set(i, (t.peakBySecond.get(i) ?? 0) + pct);
      }
    }
    t.rss += Math.max(0, ...samples.map((s) => s.rssBytes)) / 1024 / 1024;
  }
  return [...tiers.entries()].map(([tier, t]) => ({
    tier,
    processes: t.processes,
    cpuPercent: t.cpu,
    cpuPeakPercent: Math.max(0, ...t.peakBySecond.values()),
    rssMb: t.rss,
  }));
}
