import { GroupLedger, parseProcStatTicks, parseVmRssBytes, tierUsage } from './group-stats';

describe('GroupLedger', () => {
  it('counts distinct deliveries, duplicates, echoes, shed and storage losses', () => {
    const ledger = new GroupLedger(4, 3);
    for (const id of [1, 2]) {
      ledger.recordSend();
      ledger.recordAck(id, 5);
    }
    ledger.recordSend();
    ledger.recordFailure();
    // Message 1 reaches members 1 and 2 (member 1 twice) and echoes to its sender 0.
    ledger.recordDelivery(1, 1, 10, 1, false);
    ledger.recordDelivery(1, 1, 11, 1, false);
    ledger.recordDelivery(2, 1, 20, 1.5, false);
    ledger.recordDelivery(0, 1, 1, 1, true);
    // Message 2 reaches member 1 only, in second 2; message 3 was never ACKed.
    ledger.recordDelivery(1, 2, 30, 2.2, false);
    ledger.recordDelivery(2, 3, 30, 2.2, false);
    ledger.recordHistory([1, 3]);
    ledger.sendingSec = 2;
    const s = ledger.summary();
    expect(s).toMatchObject({
      members: 4,
      online: 3,
      sent: 3,
      acked: 2,
      failed: 1,
      expectedDeliveries: 4,
      delivered: 4,
      duplicates: 1,
      echoes: 1,
      deliveredUnacked: 1,
      shed: 1,
      lostFromStorage: 1,
      storedUnacked: 1,
      deliveriesPerSecond: [2, 2],
      deliverySec: 2,
    });
    ledger.recordDelivery(3, 2, 30, 4.5, false);
    expect(ledger.summary().deliverySec).toBeCloseTo(3.5);
    expect(s.deliveryLatency.count).toBe(4);
    expect(s.deliveryLatency.max).toBeCloseTo(30, 1);
  });

  it('counts every ACKed message as lost while the history is unknown', () => {
    const ledger = new GroupLedger(2, 2);
    ledger.recordAck(7, 1);
    expect(ledger.summary().lostFromStorage).toBe(1);
  });

  it('keeps ids far apart apart', () => {
    const ledger = new GroupLedger(1, 2);
    ledger.recordDelivery(0, 5, 1, 1, false);
    ledger.recordDelivery(0, 100_000, 1, 1, false);
    ledger.recordDelivery(0, 5, 1, 1, false);
    expect(ledger.summary()).toMatchObject({ delivered: 2, duplicates: 1 });
  });
});

describe('/proc parsing', () => {
  it('reads utime + stime after a command holding spaces and parentheses', () => {
    const stat = '1234 (node (msg) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 5000 1000000 2000';
    expect(parseProcStatTicks(stat)).toBe(300);
    expect(parseProcStatTicks('garbage')).toBeUndefined();
  });

  it('reads VmRSS in bytes', () => {
    expect(parseVmRssBytes('Name:\tnode\nVmRSS:\t  10240 kB\nThreads:\t11\n')).toBe(10240 * 1024);
    expect(parseVmRssBytes('Name:\tnode\n')).toBeUndefined();
  });
});

describe('tierUsage', () => {
  it('sums mean CPU, peak second and peak RSS over the processes of a tier', () => {
    const mb = 1024 * 1024;
    const usage = tierUsage(
      [
        { tier: 'msg', samples: [{ atMs: 0, ticks: 0, rssBytes: 100 * mb }, { atMs: 1000, ticks: 50, rssBytes: 120 * mb }, { atMs: 2000, ticks: 60, rssBytes: 110 * mb }] },
        { tier: 'msg', samples: [{ atMs: 0, ticks: 0, rssBytes: 50 * mb }, { atMs: 1000, ticks: 10, rssBytes: 50 * mb }, { atMs: 2000, ticks: 30, rssBytes: 60 * mb }] },
        { tier: 'route', samples: [{ atMs: 0, ticks: 0, rssBytes: 10 * mb }] },
      ],
      100,
    );
    expect(usage).toEqual([
      { tier: 'msg', processes: 2, cpuPercent: 45, cpuPeakPercent: 60, rssMb: 180 },
      { tier: 'route', processes: 1, cpuPercent: 0, cpuPeakPercent: 0, rssMb: 10 },
    ]);
  });
});
