import { SeenMessages } from './dedupe';

describe('SeenMessages', () => {
  it('reports a repeat within a session but not across sessions', () => {
    const s = new SeenMessages();
    expect(s.add('u1', 5)).toBe(true);
    expect(s.add('u1', 5)).toBe(false);
    expect(s.add('u2', 5)).toBe(true);
    expect(s.add('g1', 5)).toBe(true);
    expect(s.has('u1', 5)).toBe(true);
    expect(s.has('u1', 6)).toBe(false);
    expect(s.has('u3', 1)).toBe(false);
  });

  it('still reports a repeat after the window moved on (the lowest ids fold into a floor)', () => {
    const s = new SeenMessages({ perSession: 4 });
    for (let id = 1; id <= 100; id += 1) expect(s.add('u1', id)).toBe(true);
    for (let id = 1; id <= 100; id += 1) expect(s.add('u1', id)).toBe(false);
    expect(s.add('u1', 101)).toBe(true);
  });

  it('accepts ids out of order within the window', () => {
    const s = new SeenMessages({ perSession: 8 });
    for (const id of [3, 1, 2, 6, 5, 4]) expect(s.add('u1', id)).toBe(true);
    for (const id of [1, 2, 3, 4, 5, 6]) expect(s.add('u1', id)).toBe(false);
  });

  it('keeps the floor of a session that left the LRU', () => {
    const s = new SeenMessages({ maxSessions: 2 });
    s.add('a', 1);
    s.add('b', 1);
    s.add('b', 2);
    s.add('a', 2); // touches a: b is now the oldest
    s.add('c', 1); // retires b with floor 2
    expect(s.sessionCount).toBe(2);
    expect(s.add('a', 1)).toBe(false);
    expect(s.has('b', 2)).toBe(true);
    expect(s.add('b', 1)).toBe(false);
    expect(s.add('b', 2)).toBe(false);
    expect(s.add('b', 3)).toBe(true);
  });

  it('bounds the floors too', () => {
    const s = new SeenMessages({ maxSessions: 1, maxFloors: 2 });
    for (const k of ['a', 'b', 'c', 'd']) s.add(k, 7);
    // a was the oldest floor and is forgotten; b and c are remembered, d is live.
    expect(s.has('a', 7)).toBe(false);
    expect(s.has('b', 7)).toBe(true);
    expect(s.has('c', 7)).toBe(true);
    expect(s.has('d', 7)).toBe(true);
  });
});
