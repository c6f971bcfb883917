import { AwaitingAcks } from './awaiting-acks';

describe('AwaitingAcks', () => {
  it('removes an acknowledged entry by (from, msgId)', () => {
    const a = new AwaitingAcks(10);
    a.add(7, 1, 0);
    a.add(7, 2, 0);
    expect(a.remove(7, 1)).toBe(true);
    expect(a.remove(7, 1)).toBe(false);
    expect(a.remove(8, 2)).toBe(false);
    expect(a.size).toBe(1);
  });

  it('sweeps entries at least maxAge old, keeping younger ones', () => {
    const a = new AwaitingAcks(10);
    a.add(1, 1, 1000);
    a.add(1, 2, 2000);
    a.add(1, 3, 9000);
    expect(a.sweep(17_000, 15_000)).toBe(2);
    expect(a.size).toBe(1);
    expect(a.remove(1, 3)).toBe(true);
  });

  it('stays bounded by evicting the oldest', () => {
    const a = new AwaitingAcks(3);
    let evicted = 0;
    for (let i = 1; i <= 5; i += 1) evicted += a.add(1, i, i);
    expect(evicted).toBe(2);
    expect(a.size).toBe(3);
    expect(a.remove(1, 1)).toBe(false);
    expect(a.remove(1, 5)).toBe(true);
  });
});
