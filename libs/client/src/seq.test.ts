import { MAX_SEQ, SeqAllocator } from './seq';

describe('SeqAllocator', () => {
  it('counts 1..65535 and wraps to 1, never handing out 0', () => {
    const a = new SeqAllocator();
    const free = (): boolean => false;
    expect(a.next(free)).toBe(1);
    let last = 1;
    for (let i = 2; i <= MAX_SEQ; i += 1) last = a.next(free) ?? -1;
    expect(last).toBe(MAX_SEQ);
    expect(a.next(free)).toBe(1);
  });

  it('skips numbers still in use after wrapping', () => {
    const a = new SeqAllocator(MAX_SEQ - 1);
    const used = new Set([MAX_SEQ, 1, 2]);
    expect(a.next((s) => used.has(s))).toBe(3);
  });

  it('returns undefined when every number is in use', () => {
    expect(new SeqAllocator().next(() => true)).toBeUndefined();
  });
});
