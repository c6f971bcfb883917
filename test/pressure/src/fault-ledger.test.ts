import { FaultLedger } from './fault-ledger';

// Clients 0 and 1 talk to each other, 2 and 3 too.
const PARTNER = [1, 0, 3, 2];

describe('FaultLedger', () => {
  it('counts a message delivered live once as neither lost nor duplicate', () => {
    const l = new FaultLedger(PARTNER);
    l.recordSend(0, 0);
    l.recordAck(0, 0, 7, 10);
    l.recordCopy(1, 0, 0, 7, 'live');
    expect(l.summary()).toMatchObject({ sent: 1, acked: 1, lost: 0, duplicates: 0, reused: 0, pulledOnly: 0 });
  });

  it('counts an ACKed message nobody received as lost, and one found by the pull as delivered', () => {
    const l = new FaultLedger(PARTNER);
    l.recordSend(0, 0);
    l.recordAck(0, 0, 1, 10);
    l.recordSend(0, 1);
    l.recordAck(0, 1, 2, 11);
    l.recordCopy(1, 0, 1, 2, 'pull');
    expect(l.summary()).toMatchObject({ acked: 2, lost: 1, pulledOnly: 1, lostAfterRelogin: 0 });
    l.recordReconnect(1);
    expect(l.summary()).toMatchObject({ lost: 1, lostAfterRelogin: 1, reconnects: 1 });
  });

  it('counts a live message that arrives with a lower id than one already received from that sender', () => {
    const l = new FaultLedger(PARTNER);
    for (const [seq, id] of [[0, 5], [1, 6], [2, 4]] as const) {
      l.recordSend(0, seq);
      l.recordAck(0, seq, id, 10 + seq);
    }
    l.recordCopy(1, 0, 0, 5, 'live');
    l.recordCopy(1, 0, 1, 6, 'live');
    l.recordCopy(1, 0, 1, 6, 'live'); // a duplicate copy is counted as a duplicate, not out of order
    expect(l.summary().outOfOrder).toBe(0);
    l.recordCopy(1, 0, 2, 4, 'live');
    expect(l.summary()).toMatchObject({ outOfOrder: 1, duplicates: 1 });
  });

  it('ignores a copy that reached someone other than the addressee', () => {
    const l = new FaultLedger(PARTNER);
    l.recordSend(0, 0);
    l.recordAck(0, 0, 1, 10);
    l.recordCopy(2, 0, 0, 1, 'live');
    expect(l.summary().lost).toBe(1);
  });

  it('counts repeated live copies and a second stored copy as duplicates', () => {
    const l = new FaultLedger(PARTNER);
    l.recordSend(2, 0);
    l.recordAck(2, 0, 5, 10);
    l.recordCopy(3, 2, 0, 5, 'live');
    l.recordCopy(3, 2, 0, 5, 'live');
    // A retried store that wrote the message again under id 6.
    l.recordCopy(3, 2, 0, 6, 'pull');
    expect(l.summary()).toMatchObject({ duplicates: 2, lost: 0 });
  });

  it('does not count the pulled copy of a message also delivered live as a duplicate', () => {
    const l = new FaultLedger(PARTNER);
    l.recordSend(0, 0);
    l.recordAck(0, 0, 3, 10);
    l.recordCopy(1, 0, 0, 3, 'live');
    l.recordCopy(1, 0, 0, 3, 'pull');
    expect(l.summary().duplicates).toBe(0);
  });

  it('counts one msg id given to two messages of a conversation as reused, in either direction', () => {
    const l = new FaultLedger(PARTNER);
    l.recordSend(0, 0);
    l.recordAck(0, 0, 4, 10);
    l.recordSend(1, 0);
    l.recordAck(1, 0, 4, 11);
    // Same id in another conversation is fine.
    l.recordSend(2, 0);
    l.recordAck(2, 0, 4, 12);
    expect(l.summary().reused).toBe(1);
  });

  it('sorts outcomes: refused, cut, unanswered, and a send never answered at all', () => {
    const l = new FaultLedger(PARTNER);
    for (let seq = 0; seq < 4; seq++) l.recordSend(0, seq);
    l.recordOutcome(0, 0, 'refused');
    l.recordOutcome(0, 1, 'cut');
    l.recordOutcome(0, 2, 'unanswered');
    expect(l.summary()).toMatchObject({ sent: 4, acked: 0, refused: 1, cut: 1, unanswered: 2, lost: 0 });
  });

  it('measures the stall as the longest gap without an ACK, window edges included', () => {
    const l = new FaultLedger(PARTNER);
    l.startWindow(100);
    for (const [seq, at] of [[0, 150], [1, 200], [2, 900], [3, 950]] as const) {
      l.recordSend(0, seq);
      l.recordAck(0, seq, seq + 1, at);
    }
    l.endWindow(1000);
    expect(l.summary().stallMs).toBe(700);
    const silent = new FaultLedger(PARTNER);
    silent.startWindow(0);
    silent.endWindow(5000);
    expect(silent.summary().stallMs).toBe(5000);
  });

  it('rejects an outcome for a send it never saw', () => {
    expect(() => new FaultLedger(PARTNER).recordAck(0, 9, 1, 1)).toThrow(/unknown send/);
  });
});
