import { DeadlineWheel } from './deadline-wheel';
import type { DeadlineEntry } from './deadline-wheel';

class Clock {
  t = 1_000_000;
  readonly now = (): number => this.t;
}

function entry(fired: number[], onFire?: (now: number) => void): DeadlineEntry {
  return {
    wheelTick: 0,
    onDeadline: (now) => {
      fired.push(now);
      onFire?.(now);
    },
  };
}

describe('DeadlineWheel', () => {
  it('fires a deadline on the first sweep at or after it, never before', () => {
    const clock = new Clock();
    const wheel = new DeadlineWheel(100, clock.now);
    const fired: number[] = [];
    wheel.schedule(entry(fired), clock.t + 250);
    clock.t += 200;
    wheel.sweep();
    expect(fired).toEqual([]);
    clock.t += 99;
    wheel.sweep();
    expect(fired).toEqual([]);
    clock.t += 1;
    wheel.sweep();
    expect(fired).toEqual([clock.t]);
    expect(wheel.size).toBe(0);
  });

  it('cancel and reschedule replace the earlier deadline', () => {
    const clock = new Clock();
    const wheel = new DeadlineWheel(100, clock.now);
    const fired: number[] = [];
    const a = entry(fired);
    const b = entry(fired);
    wheel.schedule(a, clock.t + 100);
    wheel.schedule(b, clock.t + 100);
    wheel.cancel(a);
    wheel.schedule(b, clock.t + 1000);
    expect(wheel.size).toBe(1);
    clock.t += 500;
    wheel.sweep();
    expect(fired).toEqual([]);
    clock.t += 500;
    wheel.sweep();
    expect(fired).toHaveLength(1);
  });

  it('catches up on every due tick after a stall and visits entries re-scheduled while firing', () => {
    const clock = new Clock();
    const wheel = new DeadlineWheel(100, clock.now);
    const fired: number[] = [];
    let again = true;
    const e: DeadlineEntry = entry(fired, (now) => {
      // An idle check that finds recent activity pushes itself to a time already passed by the stall.
      if (again) wheel.schedule(e, now - 50);
      again = false;
    });
    wheel.schedule(e, clock.t + 100);
    const late = entry(fired);
    wheel.schedule(late, clock.t + 700);
    clock.t += 5000;
    wheel.sweep();
    expect(fired).toHaveLength(3);
    expect(wheel.size).toBe(0);
  });

  it('skips an entry cancelled by an earlier callback of the same tick', () => {
    const clock = new Clock();
    const wheel = new DeadlineWheel(100, clock.now);
    const fired: number[] = [];
    const second = entry(fired);
    const first = entry(fired, () => wheel.cancel(second));
    wheel.schedule(first, clock.t + 100);
    wheel.schedule(second, clock.t + 100);
    clock.t += 100;
    wheel.sweep();
    expect(fired).toHaveLength(1);
  });

  it('a deadline already passed fires on the next sweep', () => {
    const clock = new Clock();
    const wheel = new DeadlineWheel(100, clock.now);
    const fired: number[] = [];
    wheel.schedule(entry(fired), clock.t - 10_000);
    clock.t += 100;
    wheel.sweep();
    expect(fired).toHaveLength(1);
  });

  it('refuses a tick that is not a positive integer', () => {
    expect(() => new DeadlineWheel(0)).toThrow(/positive integer/);
  });
});
