import { OfflineLedger, nextPageBegin, percentiles } from './offline-stats';

const RUN = 'r1';
const body = (sender: number, seq: number, runId = RUN) => ({ runId, sender, seq, sentAtMs: 0 });

describe('OfflineLedger', () => {
  it('counts a clean run: every ACKed message pulled once', () => {
    const l = new OfflineLedger(2, RUN);
    l.setBaseline(0, 0);
    l.setBaseline(1, 10);
    for (let seq = 0; seq < 3; seq += 1) {
      l.recordSend(0);
      l.recordAck(0, seq, seq + 1);
      l.recordSend(1);
      l.recordAck(1, seq, 11 + seq);
    }
    for (let seq = 0; seq < 3; seq += 1) {
      l.recordPulled(0, seq + 1, body(0, seq));
      l.recordPulled(1, 11 + seq, body(1, seq));
    }
    // Rows up to the baseline are older history, not this run's.
    l.recordPulled(1, 10, undefined);
    l.recordUnread(3, 3);
    l.recordUnread(5, 3);
    expect(l.summary()).toMatchObject({ sent: 6, acked: 6, failed: 0, pulled: 6, lost: 0, duplicated: 0, misrouted: 0, idsReused: 0, idGaps: 0, unreadChecked: 2, unreadShort: 0 });
  });

  it('finds lost, duplicated, misrouted, unACKed-but-stored, reused ids, gaps and short unread counters', () => {
    const l = new OfflineLedger(1, RUN);
    l.setBaseline(0, 100);
    for (let seq = 0; seq < 5; seq += 1) l.recordSend(0);
    l.recordAck(0, 0, 101);
    l.recordAck(0, 1, 102);
    l.recordAck(0, 2, 102); // the same id for another message
    l.recordFailure(0, 3, 'ACK_TIMEOUT');
    l.recordAck(0, 4, 105); // 103, 104 never ACKed
    l.recordPulled(0, 101, body(0, 0));
    l.recordPulled(0, 101, body(0, 0)); // twice
    l.recordPulled(0, 103, body(0, 3)); // stored though its ACK timed out
    l.recordPulled(0, 104, body(9, 0)); // another sender's
    l.recordPulled(0, 106, body(0, 7, 'other-run'));
    l.recordUnread(3, 4);
    const s = l.summary();
    expect(s).toMatchObject({
      sent: 5,
      acked: 4,
      failed: 1,
      failedByCode: { ACK_TIMEOUT: 1 },
      pulled: 2,
      lost: 3, // seq 1, 2, 4
      duplicated: 1,
      pulledUnacked: 1,
      misrouted: 2,
      idsReused: 1,
      idGaps: 2,
      unreadShort: 1,
    });
  });

  it('counts pull times and pages', () => {
    const l = new OfflineLedger(3, RUN);
    l.recordPull(10, 2);
    l.recordPull(30, 3);
    l.recordPullFailure(1);
    expect(l.summary()).toMatchObject({ pages: 6, pullFailures: 1, pullMs: { count: 2, p50: 10, max: 30 } });
  });
});

describe('percentiles', () => {
  it('are nearest-rank over the samples', () => {
    const p = percentiles(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(p).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    expect(percentiles([])).toEqual({ count: 0, p50: 0, p95: 0, p99: 0, max: 0 });
    expect(percentiles([7])).toMatchObject({ p50: 7, p99: 7, max: 7 });
  });
});

describe('nextPageBegin', () => {
  const ids = (...xs: number[]) => xs.map((msgId) => ({ msgId }));
  it('continues below the lowest id until the baseline is reached', () => {
    expect(nextPageBegin(0, ids(200, 199, 161), 0)).toBe(160);
    expect(nextPageBegin(0, ids(160, 121), 160)).toBe(120);
    expect(nextPageBegin(0, ids(3, 2, 1), 3)).toBeUndefined();
    expect(nextPageBegin(50, ids(60, 51), 0)).toBeUndefined();
    expect(nextPageBegin(50, ids(60, 52), 0)).toBe(51);
    expect(nextPageBegin(0, [], 40)).toBeUndefined();
  });

  it('refuses a page that does not move down (a server ignoring msg_id_begin)', () => {
    expect(() => nextPageBegin(0, ids(200, 181), 180)).toThrow(/did not move below msg id 181/);
  });
});
