import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

/** Uploads per client address and minute (TT_MSFS_UPLOADS_PER_MINUTE; 0 = unlimited, as TeamTalk was). */
export class UploadLimit {
  private readonly limiter: RateLimiterMemory | undefined;

  constructor(perMinute: number) {
    this.limiter = perMinute > 0 ? new RateLimiterMemory({ keyPrefix: 'msfs-upload', points: perMinute, duration: 60 }) : undefined;
  }

  /** 0 when this upload may go ahead, else the seconds until the address may upload again. */
  async take(address: string): Promise<number> {
    if (!this.limiter) return 0;
    try {
      await this.limiter.consume(address);
      return 0;
    } catch (rejected) {
      if (rejected instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejected.msBeforeNext / 1000));
      throw rejected;
    }
  }
}
