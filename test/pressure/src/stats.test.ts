import { PressureStats } from './stats';

describe('PressureStats', () => {
  it('counts sent, ACKed, delivered, lost, duplicated and failed', () => {
    const s = new PressureStats(2);
    for (let seq = 0; seq < 5; seq += 1) s.recordSend(0, seq, 100);
    s.recordSend(1, 0, 100);
    expect(s.inFlight).toBe(6);

    s.recordAck(0, 0, 101); // delivered once
    s.recordDelivery(0, 0, 100, 103);
    s.recordAck(0, 1, 102); // delivered three times
    s.recordDelivery(0, 1, 100, 104);
    s.recordDelivery(0, 1, 100, 105);
    s.recordDelivery(0, 1, 100, 106);
    s.recordAck(0, 2, 101); // ACKed, never delivered: lost
    s.recordFailure(0, 3, 'ACK_TIMEOUT'); // failed, never delivered
    s.recordDelivery(0, 4, 100, 102); // delivered before its ACK
    s.recordAck(0, 4, 110);
    s.recordDelivery(1, 0, 100, 101); // delivered, then the ACK timed out
    s.recordFailure(1, 0, 'ACK_TIMEOUT');
    s.recordDelivery(1, 99, 100, 101); // never sent

    expect(s.inFlight).toBe(0);
    const sum = s.summary();
    expect(sum).toMatchObject({
      sent: 6,
      acked: 4,
      failed: 2,
      failedByCode: { ACK_TIMEOUT: 2 },
      delivered: 4,
      lost: 1,
      duplicated: 1,
      extraCopies: 2,
      deliveredUnacked: 1,
      misrouted: 1,
    });
    expect(sum.ackLatency.count).toBe(4);
    expect(sum.deliveryLatency.count).toBe(4);
  });

  it('ignores a second settlement of the same message', () => {
    const s = new PressureStats(1);
    s.recordSend(0, 0, 0);
    s.recordAck(0, 0, 1);
    s.recordAck(0, 0, 2);
    s.recordFailure(0, 0, 'CLOSED');
    expect(s.summary()).toMatchObject({ acked: 1, failed: 0, lost: 1 });
  });

  it('computes latency percentiles in milliseconds', () => {
    const s = new PressureStats(1);
    for (let seq = 0; seq < 100; seq += 1) {
      s.recordSend(0, seq, 1000);
      s.recordAck(0, seq, 1000 + (seq + 1)); // 1..100 ms
      s.recordDelivery(0, seq, 1000, 1000 + 2 * (seq + 1));
    }
    const { ackLatency, deliveryLatency } = s.summary();
    expect(ackLatency.p50).toBeCloseTo(50, 0);
    expect(ackLatency.p95).toBeCloseTo(95, 0);
    expect(ackLatency.p99).toBeCloseTo(99, 0);
    expect(ackLatency.max).toBeCloseTo(100, 0);
    expect(deliveryLatency.p99).toBeCloseTo(198, 0);
    expect(s.ackP99Ms).toBeCloseTo(99, 0);
  });

  it('reports empty latencies as zeros', () => {
    expect(new PressureStats(1).summary().ackLatency).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0, mean: 0 });
  });

  it('rolls per-second buckets with the in-flight count at the end of each', () => {
    const s = new PressureStats(1);
    s.recordSend(0, 0, 0);
    s.recordSend(0, 1, 0);
    s.recordAck(0, 0, 1);
    expect(s.rollSecond()).toEqual({ second: 1, sent: 2, acked: 1, delivered: 0, failed: 0, inFlight: 1, draining: false });
    s.recordDelivery(0, 0, 0, 1500);
    s.recordFailure(0, 1, 'ACK_TIMEOUT');
    expect(s.rollSecond(true)).toEqual({ second: 2, sent: 0, acked: 0, delivered: 1, failed: 1, inFlight: 0, draining: true });
    expect(s.rollPartialSecond()).toBeUndefined();
    s.recordSend(0, 2, 2100);
    expect(s.rollPartialSecond(true)?.sent).toBe(1);
    expect(s.summary().seconds.map((x) => x.second)).toEqual([1, 2, 3]);
    expect(s.secondsRolled).toBe(3);
  });

  it('rejects an unknown sender on send', () => {
    expect(() => new PressureStats(1).recordSend(1, 0, 0)).toThrow(RangeError);
  });

  it('counts warm-up messages for loss and duplicates but not for latency or measured throughput', () => {
    const s = new PressureStats(1);
    s.startWarmup();
    expect(s.phase).toBe('warmup');
    s.recordSend(0, 0, 0); // warm-up, ACKed and delivered in the warm-up
    s.recordAck(0, 0, 500);
    s.recordDelivery(0, 0, 0, 600);
    s.recordSend(0, 1, 0); // warm-up, ACKed in the measured period, never delivered
    s.recordSend(0, 2, 0); // warm-up, delivered twice in the measured period
    s.startMeasuring();
    s.recordAck(0, 1, 700);
    s.recordAck(0, 2, 800);
    s.recordDelivery(0, 2, 0, 900);
    s.recordDelivery(0, 2, 0, 901);
    s.recordSend(0, 3, 1000); // measured
    s.recordAck(0, 3, 1002);
    s.stopMeasuring();
    s.recordDelivery(0, 3, 1000, 1004); // after sending stopped: latency yes, throughput no
    const sum = s.summary();
    expect(sum).toMatchObject({ sent: 4, acked: 4, delivered: 3, lost: 1, duplicated: 1, warmupSent: 3 });
    expect(sum.measured).toEqual({ sent: 1, acked: 3, delivered: 1 });
    expect(sum.ackLatency).toMatchObject({ count: 1 });
    expect(sum.ackLatency.max).toBeCloseTo(2, 1);
    expect(sum.deliveryLatency).toMatchObject({ count: 1 });
    expect(sum.deliveryLatency.max).toBeCloseTo(4, 1);
    expect(s.ackP99Ms).toBeCloseTo(2, 1);
  });

  it('measures from the start when there is no warm-up', () => {
    const s = new PressureStats(1);
    s.recordSend(0, 0, 0);
    s.recordAck(0, 0, 1);
    s.recordDelivery(0, 0, 0, 2);
    expect(s.summary()).toMatchObject({ warmupSent: 0, measured: { sent: 1, acked: 1, delivered: 1 } });
  });

  it('keeps one latency histogram per interval, reset when the second rolls', () => {
    const s = new PressureStats(1);
    s.startWarmup();
    for (let seq = 0; seq < 100; seq += 1) {
      s.recordSend(0, seq, 0);
      s.recordAck(0, seq, 100); // 100 ms, warm-up: in the interval, not in the cumulative histogram
      s.recordDelivery(0, seq, 0, 150);
    }
    expect(s.currentInterval).toMatchObject({ ackCount: 100, deliveryCount: 100 });
    expect(s.currentInterval.ackP99Ms).toBeCloseTo(100, 0);
    s.rollSecond(false, true);
    expect(s.lastInterval.ackP99Ms).toBeCloseTo(100, 0);
    expect(s.lastInterval.deliveryP99Ms).toBeCloseTo(150, 0);
    expect(s.currentInterval).toEqual({ ackCount: 0, ackP99Ms: 0, deliveryCount: 0, deliveryP99Ms: 0 });

    s.startMeasuring();
    for (let seq = 100; seq < 110; seq += 1) {
      s.recordSend(0, seq, 1000);
      s.recordAck(0, seq, 1002);
    }
    const second = s.rollSecond();
    expect(second.warmup).toBeUndefined();
    expect(s.lastInterval).toMatchObject({ ackCount: 10, deliveryCount: 0, deliveryP99Ms: 0 });
    expect(s.lastInterval.ackP99Ms).toBeCloseTo(2, 1);
    s.rollSecond(true);
    expect(s.lastInterval).toEqual({ ackCount: 0, ackP99Ms: 0, deliveryCount: 0, deliveryP99Ms: 0 });

    const sum = s.summary();
    expect(sum.seconds.map((x) => x.warmup ?? false)).toEqual([true, false, false]);
    expect(sum.secondsLatency.map((x) => x.ackCount)).toEqual([100, 10, 0]);
    // The cumulative histogram has the measured messages only.
    expect(sum.ackLatency.count).toBe(10);
    expect(sum.ackLatency.max).toBeCloseTo(2, 1);
  });
});
