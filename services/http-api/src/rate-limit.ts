import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * Requests per second per client address (rate-limiter-flexible, one
 * in-memory window per instance). Checked before the token, so guessing
 * tokens is as slow as anything else.
 */
export class ClientRate {
  private readonly limiter: RateLimiterMemory;

  constructor(perSecond: number) {
    this.limiter = new RateLimiterMemory({ keyPrefix: 'http-api', points: perSecond, duration: 1 });
  }

  /** undefined when allowed; else the seconds until the client may try again (Retry-After). */
  async take(client: string): Promise<number | undefined> {
    try {
      await this.limiter.consume(client);
      return undefined;
    } catch (err) {
      // The library rejects with a RateLimiterRes when the budget is used up; anything else is a bug.
      if (err instanceof RateLimiterRes) return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw err;
    }
  }
}
