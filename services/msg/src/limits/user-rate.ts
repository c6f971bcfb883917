import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateBudget, UserRateBudgets } from '../config';

/** The command classes that have a per-user budget (docs/SECURITY.md "Lockout and limits"). */
export type RateClass = keyof UserRateBudgets;

/**
 * Per-user request budgets, one in-memory limiter per command class
 * (rate-limiter-flexible: a window of `seconds` holding `points` requests per
 * key). Kept per gateway: a user's connections on one gateway share a budget.
 */
export class UserRateLimits {
  private readonly limiters = new Map<RateClass, RateLimiterMemory>();

  constructor(budgets: UserRateBudgets) {
    for (const [cls, budget] of Object.entries(budgets) as Array<[RateClass, RateBudget | undefined]>) {
      if (budget) this.limiters.set(cls, new RateLimiterMemory({ keyPrefix: cls, points: budget.points, duration: budget.seconds }));
    }
  }

  /** True when the class has a budget at all (otherwise no check, no promise). */
  limits(cls: RateClass): boolean {
    return this.limiters.has(cls);
  }

  /** Takes one request from the user's budget; false when it is used up. */
  async take(cls: RateClass, userId: number): Promise<boolean> {
    const limiter = this.limiters.get(cls);
    if (!limiter) return true;
    try {
      await limiter.consume(String(userId));
      return true;
    } catch (err) {
      // The library rejects with a RateLimiterRes when the budget is used up; anything else is a bug.
      if (err instanceof RateLimiterRes) return false;
      throw err;
    }
  }
}
