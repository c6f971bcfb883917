// Bookkeeping of one pressure run: every message is (sender, seq); we record
// its send time, whether it was ACKed or failed, and how many copies arrived.
// Messages sent during the warm-up count for lost/duplicated/failed like any
// other, but not for the latency histograms or the measured throughput.
import { build, type Histogram } from 'hdr-histogram-js';

const ACKED = 1;
const FAILED = 2;
/** Sent during the warm-up: counts for lost/duplicated/failed, not for latency or throughput. */
const WARMUP = 4;

/**
 * warmup: sends are warm-up messages; measuring: the measured period (the
 * default, so a run without warm-up measures from the start); after: sending
 * has stopped, ACKs and deliveries no longer count for the measured throughput.
 */
export type Phase = 'warmup' | 'measuring' | 'after';

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
  /** The second began during the warm-up (present only then). */
  warmup?: true;
}

/** Latency of the ACKs and first deliveries that arrived within one interval (one second). */
export interface IntervalLatency {
  ackCount: number;
  /** Milliseconds; 0 when nothing arrived. */
  ackP99Ms: number;
  deliveryCount: number;
  deliveryP99Ms: number;
}

/** What happened while the phase was `measuring` (the throughput of the measured period). */
export interface MeasuredCounts {
  /** Messages sent in the measured period. */
  sent: number;
  /** ACKs received in the measured period (also of warm-up messages still in flight). */
  acked: number;
  /** First copies received in the measured period. */
  delivered: number;
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
  /** Messages sent during the warm-up (included in the counts above, not in latency or throughput). */
  warmupSent: number;
  measured: MeasuredCounts;
  /** Cumulative over the messages sent in the measured period (warm-up excluded), whenever they settled. */
  ackLatency: LatencySummary;
  deliveryLatency: LatencySummary;
  seconds: SecondSample[];
  /** Per-interval latency, one per entry of `seconds`. */
  secondsLatency: IntervalLatency[];
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

function p99Ms(h: Histogram): number {
  return h.totalCount === 0 ? 0 : h.getValueAtPercentile(99) / 1000;
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
  /** Cumulative: messages sent in the measured period only. */
  private readonly ackHist = newHistogram();
  private readonly deliveryHist = newHistogram();
  /** This interval's ACKs and deliveries (warm-up messages included), reset by rollSecond. */
  private readonly ackInterval = newHistogram();
  private readonly deliveryInterval = newHistogram();
  private readonly failedByCode = new Map<string, number>();
  private readonly series: SecondSample[] = [];
  private readonly seriesLatency: IntervalLatency[] = [];
  private totals = { sent: 0, acked: 0, failed: 0, delivered: 0, duplicated: 0, extraCopies: 0, deliveredUnacked: 0, misrouted: 0 };
  private phaseNow: Phase = 'measuring';
  private warmupSent = 0;
  private measured: MeasuredCounts = { sent: 0, acked: 0, delivered: 0 };
  /** ACKed and not yet received: what would be lost if the run ended now. */
  private awaitingDelivery = 0;
  private current = { sent: 0, acked: 0, delivered: 0, failed: 0 };

  constructor(senderCount: number) {
    this.senders = Array.from({ length: senderCount }, () => ({ sentAt: [], flags: [], copies: [] }));
  }

  get phase(): Phase {
    return this.phaseNow;
  }

  /** Sends from now on are warm-up messages. */
  startWarmup(): void {
    this.phaseNow = 'warmup';
  }

  /** The measured period starts now. */
  startMeasuring(): void {
    this.phaseNow = 'measuring';
  }

  /** Sending has stopped: later ACKs and deliveries are not part of the measured throughput. */
  stopMeasuring(): void {
    this.phaseNow = 'after';
  }

  recordSend(sender: number, seq: number, atMs: number): void {
    const log = this.log(sender);
    const warmup = this.phaseNow === 'warmup';
    log.sentAt[seq] = atMs;
    log.flags[seq] = warmup ? WARMUP : 0;
    log.copies[seq] = 0;
    this.totals.sent += 1;
    this.current.sent += 1;
    if (warmup) this.warmupSent += 1;
    else if (this.phaseNow === 'measuring') this.measured.sent += 1;
  }

  recordAck(sender: number, seq: number, atMs: number): void {
    const log = this.log(sender);
    const flags = log.flags[seq];
    if (flags === undefined || (flags & (ACKED | FAILED)) !== 0) return;
    log.flags[seq] = flags | ACKED;
    this.totals.acked += 1;
    this.current.acked += 1;
    if (this.phaseNow === 'measuring') this.measured.acked += 1;
    const micros = toMicros(atMs - log.sentAt[seq]);
    this.ackInterval.recordValue(micros);
    if ((flags & WARMUP) === 0) this.ackHist.recordValue(micros);
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
    if (this.phaseNow === 'measuring') this.measured.delivered += 1;
    const micros = toMicros(atMs - sentAtMs);
    this.deliveryInterval.recordValue(micros);
    if ((log.flags[seq] & WARMUP) === 0) this.deliveryHist.recordValue(micros);
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

  /** Cumulative p99 (measured period). */
  get ackP99Ms(): number {
    return p99Ms(this.ackHist);
  }

  get deliveryP99Ms(): number {
    return p99Ms(this.deliveryHist);
  }

  /** The interval still open (since the last rollSecond). */
  get currentInterval(): IntervalLatency {
    return {
      ackCount: this.ackInterval.totalCount,
      ackP99Ms: p99Ms(this.ackInterval),
      deliveryCount: this.deliveryInterval.totalCount,
      deliveryP99Ms: p99Ms(this.deliveryInterval),
    };
  }

  /** Latency of the interval closed by the last rollSecond (zeros before the first). */
  get lastInterval(): IntervalLatency {
    return this.seriesLatency.at(-1) ?? { ackCount: 0, ackP99Ms: 0, deliveryCount: 0, deliveryP99Ms: 0 };
  }

  /** Seconds rolled so far. */
  get secondsRolled(): number {
    return this.series.length;
  }

  /**
   * Closes the current one-second bucket and returns it; its latency is then
   * `lastInterval`, and the interval histograms start empty again.
   */
  rollSecond(draining = false, warmup = false): SecondSample {
    const sample: SecondSample = { second: this.series.length + 1, ...this.current, inFlight: this.inFlight, draining };
    if (warmup) sample.warmup = true;
    this.series.push(sample);
    this.seriesLatency.push(this.currentInterval);
    this.current = { sent: 0, acked: 0, delivered: 0, failed: 0 };
    this.ackInterval.reset();
    this.deliveryInterval.reset();
    return sample;
  }

  /** At the end: the last, partial second, only when something happened in it. */
  rollPartialSecond(draining = false, warmup = false): SecondSample | undefined {
    const c = this.current;
    return c.sent + c.acked + c.delivered + c.failed > 0 ? this.rollSecond(draining, warmup) : undefined;
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
      warmupSent: this.warmupSent,
      measured: { ...this.measured },
      ackLatency: summarize(this.ackHist),
      deliveryLatency: summarize(this.deliveryHist),
      seconds: [...this.series],
      secondsLatency: [...this.seriesLatency],
    };
  }

  private log(sender: number): SenderLog {
    const log = this.senders[sender];
    if (!log) throw new RangeError(`sender ${sender} out of range 0..${this.senders.length - 1}`);
    return log;
  }
}
