// Bookkeeping of one pressure run: every message is (sender, seq); we record
// its send time, whether it was ACKed or failed, and how many copies arrived.
import { build, type Histogram } from 'hdr-histogram-js';

const ACKED = 1;
const FAILED = 2;

export interface LatencySummary {
  count: number;
  /** Milliseconds. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface SecondSample {
  /** 1-based second since the start of sending. */
  second: number;
  sent: number;
  acked: number;
  delivered: number;
  failed: number;
  /** Messages sent and not yet ACKed or failed at the end of that second. */
  inFlight: number;
  /** The second began after sending had stopped (waiting for ACKs and deliveries). */
  draining: boolean;
}

export type DeliveryOutcome = 'first' | 'duplicate' | 'unknown';

export interface StatsSummary {
  sent: number;
  acked: number;
  /** Never ACKed (timeout, connection closed, ...). */
  failed: number;
  failedByCode: Record<string, number>;
  /** Distinct messages received at least once. */
  delivered: number;
  /** ACKed but never received. */
  lost: number;
  /** Messages received more than once. */
  duplicated: number;
  /** Copies beyond the first, over all duplicated messages. */
  extraCopies: number;
  /** Received although their send never got an ACK. */
  deliveredUnacked: number;
  /** Received by the wrong user, from the wrong user id, or with a body we did not send. */
  misrouted: number;
  ackLatency: LatencySummary;
  deliveryLatency: LatencySummary;
  seconds: SecondSample[];
}

interface SenderLog {
  sentAt: number[];
  flags: number[];
  copies: number[];
}

function newHistogram(): Histogram {
  // Microseconds, 3 significant digits; autoResize covers pathological stalls.
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

function toMicros(ms: number): number {
  return Math.max(1, Math.round(ms * 1000));
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

export class PressureStats {
  private readonly senders: SenderLog[];
  private readonly ackHist = newHistogram();
  private readonly deliveryHist = newHistogram();
  private readonly failedByCode = new Map<string, number>();
  private readonly series: SecondSample[] = [];
  private totals = { sent: 0, acked: 0, failed: 0, delivered: 0, duplicated: 0, extraCopies: 0, deliveredUnacked: 0, misrouted: 0 };
  /** ACKed and not yet received: what would be lost if the run ended now. */
  private awaitingDelivery = 0;
  private current = { sent: 0, acked: 0, delivered: 0, failed: 0 };

  constructor(senderCount: number) {
    this.senders = Array.from({ length: senderCount }, () => ({ sentAt: [], flags: [], copies: [] }));
  }

  recordSend(sender: number, seq: number, atMs: number): void {
    const log = this.log(sender);
    log.sentAt[seq] = atMs;
    log.flags[seq] = 0;
    log.copies[seq] = 0;
    this.totals.sent += 1;
    this.current.sent += 1;
  }

  recordAck(sender: number, seq: number, atMs: number): void {
    const log = this.log(sender);
    const flags = log.flags[seq];
    if (flags === undefined || (flags & (ACKED | FAILED)) !== 0) return;
    log.flags[seq] = flags | ACKED;
    this.totals.acked += 1;
    this.current.acked += 1;
    this.ackHist.recordValue(toMicros(atMs - log.sentAt[seq]));
    if (log.copies[seq] === 0) this.awaitingDelivery += 1;
    else this.totals.deliveredUnacked -= 1;
  }

  recordFailure(sender: number, seq: number, code: string): void {
    const log = this.log(sender);
    const flags = log.flags[seq];
    if (flags === undefined || (flags & (ACKED | FAILED)) !== 0) return;
    log.flags[seq] = flags | FAILED;
    this.totals.failed += 1;
    this.current.failed += 1;
    this.failedByCode.set(code, (this.failedByCode.get(code) ?? 0) + 1);
  }

  /**
   * A copy of (sender, seq) arrived. `sentAtMs` is the send time carried in
   * the body (same process, same clock). Counted before any duplicate suppression.
   */
  recordDelivery(sender: number, seq: number, sentAtMs: number, atMs: number): DeliveryOutcome {
    const log = this.senders[sender];
    const copies = log?.copies[seq];
    if (log === undefined || copies === undefined) {
      this.totals.misrouted += 1;
      return 'unknown';
    }
    log.copies[seq] = copies + 1;
    if (copies > 0) {
      if (copies === 1) this.totals.duplicated += 1;
      this.totals.extraCopies += 1;
      return 'duplicate';
    }
    this.totals.delivered += 1;
    this.current.delivered += 1;
    this.deliveryHist.recordValue(toMicros(atMs - sentAtMs));
    if ((log.flags[seq] & ACKED) !== 0) this.awaitingDelivery -= 1;
    else this.totals.deliveredUnacked += 1;
    return 'first';
  }

  recordMisrouted(): void {
    this.totals.misrouted += 1;
  }

  get sent(): number {
    return this.totals.sent;
  }

  get inFlight(): number {
    return this.totals.sent - this.totals.acked - this.totals.failed;
  }

  get undelivered(): number {
    return this.awaitingDelivery;
  }

  get deliveredCount(): number {
    return this.totals.delivered;
  }

  get ackP99Ms(): number {
    return this.ackHist.totalCount === 0 ? 0 : this.ackHist.getValueAtPercentile(99) / 1000;
  }

  get deliveryP99Ms(): number {
    return this.deliveryHist.totalCount === 0 ? 0 : this.deliveryHist.getValueAtPercentile(99) / 1000;
  }

  /** Seconds rolled so far. */
  get secondsRolled(): number {
    return this.series.length;
  }

  /** Closes the current one-second bucket and returns it. */
  rollSecond(draining = false): SecondSample {
    const sample: SecondSample = { second: this.series.length + 1, ...this.current, inFlight: this.inFlight, draining };
    this.series.push(sample);
    this.current = { sent: 0, acked: 0, delivered: 0, failed: 0 };
    return sample;
  }

  /** At the end: the last, partial second, only when something happened in it. */
  rollPartialSecond(draining = false): SecondSample | undefined {
    const c = this.current;
    return c.sent + c.acked + c.delivered + c.failed > 0 ? this.rollSecond(draining) : undefined;
  }

  summary(): StatsSummary {
    const failedByCode: Record<string, number> = {};
    for (const [code, n] of [...this.failedByCode.entries()].sort()) failedByCode[code] = n;
    return {
      sent: this.totals.sent,
      acked: this.totals.acked,
      failed: this.totals.failed,
      failedByCode,
      delivered: this.totals.delivered,
      lost: this.awaitingDelivery,
      duplicated: this.totals.duplicated,
      extraCopies: this.totals.extraCopies,
      deliveredUnacked: this.totals.deliveredUnacked,
      misrouted: this.totals.misrouted,
      ackLatency: summarize(this.ackHist),
      deliveryLatency: summarize(this.deliveryHist),
      seconds: [...this.series],
    };
  }

  private log(sender: number): SenderLog {
    const log = this.senders[sender];
    if (!log) throw new RangeError(`sender ${sender} out of range 0..${this.senders.length - 1}`);
    return log;
  }
}
