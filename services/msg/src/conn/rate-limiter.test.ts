import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  it('allows perSecond takes per second and resets on the next second', () => {
    let now = 10_000;
    const r = new RateLimiter(20, () => now);
    for (let i = 0; i < 20; i += 1) expect(r.tryTake()).toBe(true);
    expect(r.tryTake()).toBe(false);
    now += 999;
    expect(r.tryTake()).toBe(false);
    now += 1;
    for (let i = 0; i < 20; i += 1) expect(r.tryTake()).toBe(true);
    expect(r.tryTake()).toBe(false);
  });

  it('counts within wall-clock seconds, like a 1-s reset timer', () => {
    let now = 5_900;
    const r = new RateLimiter(2, () => now);
    expect(r.tryTake()).toBe(true);
    expect(r.tryTake()).toBe(true);
    expect(r.tryTake()).toBe(false);
    now = 6_000;
    expect(r.tryTake()).toBe(true);
  });

  it('0 means unlimited', () => {
    const r = new RateLimiter(0, () => 0);
    for (let i = 0; i < 10_000; i += 1) expect(r.tryTake()).toBe(true);
  });
});
