import { SeenMessages } from './dedupe';

describe('SeenMessages', () => {
  it('reports a repeat within a session but not across sessions', () => {
    const s = new SeenMessages();
    expect(s.add('u1', 5)).toBe(true);
    expect(s.add('u1', 5)).toBe(false);
    expect(s.add('u2', 5)).toBe(true);
    expect(s.add('g1', 5)).toBe(true);
  });

  it('forgets the oldest ids of a session past its window', () => {
    const s = new SeenMessages({ perSession: 3 });
    for (const id of [1, 2, 3, 4]) expect(s.add('u1', id)).toBe(true);
    expect(s.add('u1', 1)).toBe(true); // 1 was evicted by 4
    expect(s.add('u1', 4)).toBe(false);
  });

  it('evicts the least recently used session past maxSessions', () => {
    const s = new SeenMessages({ maxSessions: 2 });
    s.add('a', 1);
    s.add('b', 1);
    s.add('a', 2); // touches a: b is now the oldest
    s.add('c', 1);
    expect(s.sessionCount).toBe(2);
    expect(s.add('a', 1)).toBe(false);
    expect(s.add('b', 1)).toBe(true);
  });
});
