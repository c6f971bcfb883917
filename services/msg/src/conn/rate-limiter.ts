/**
 * Fixed one-second window: at most `perSecond` takes per wall-clock second
 * (docs/FLOWS.md §3: TeamTalk counts IMMsgData per connection and resets the
 * counter from a 1-s timer). A window avoids one timer per connection.
 */
export class RateLimiter {
  private window = -1;
  private count = 0;

  /** perSecond 0 means unlimited. */
  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  tryTake(): boolean {
    if (this.perSecond === 0) return true;
    const window = Math.floor(this.now() / 1000);
    if (window !== this.window) {
      this.window = window;
      this.count = 0;
    }
    if (this.count >= this.perSecond) return false;
    this.count += 1;
    return true;
  }
}
