import { monitorEventLoopDelay } from 'node:perf_hooks';
import { HashCancelledError, HashQueueFullError, PasswordHasher } from './password-hasher';

const PRODUCTION = { memoryKiB: 19456, timeCost: 2, parallelism: 1 };

describe('PasswordHasher', () => {
  it('hashes with argon2id and the configured cost; verifies right and wrong', async () => {
    const hasher = new PasswordHasher(PRODUCTION, { concurrency: 2, queueMax: 10 });
    const h = await hasher.hash('secret');
    expect(h).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(h, 'secret')).toBe(true);
    expect(await hasher.verify(h, 'Secret')).toBe(false);
    expect(await hasher.verify('not a hash', 'secret')).toBe(false);
    expect(hasher.isOutdated(h)).toBe(false);
    expect(new PasswordHasher({ ...PRODUCTION, timeCost: 3 }, { concurrency: 1, queueMax: 1 }).isOutdated(h)).toBe(true);
  });

  it('never blocks the event loop: 12 production-cost hashes run while timers stay on time', async () => {
    const hasher = new PasswordHasher(PRODUCTION, { concurrency: 2, queueMax: 100 });
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const started = Date.now();
    await Promise.all(Array.from({ length: 12 }, (_, i) => hasher.hash(`pw${i}`)));
    delay.disable();
    // On the loop, 12 hashes would stall it for their whole duration; off it, no stall comes near that (GC pauses aside).
    const totalMs = Date.now() - started;
    expect(totalMs).toBeGreaterThan(60);
    expect(delay.max / 1e6).toBeLessThan(totalMs / 2);
  });

  it('refuses work beyond the queue limit instead of queueing it', async () => {
    const hasher = new PasswordHasher(PRODUCTION, { concurrency: 1, queueMax: 2 });
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => hasher.hash(`pw${i}`)));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThanOrEqual(3);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(HashQueueFullError);
  });

  it('skips a queued job whose caller went away', async () => {
    const hasher = new PasswordHasher(PRODUCTION, { concurrency: 1, queueMax: 10 });
    let gone = false;
    const first = hasher.hash('pw');
    const second = hasher.hash('pw', () => gone);
    gone = true;
    await expect(first).resolves.toMatch(/^\$argon2id\$/);
    await expect(second).rejects.toBeInstanceOf(HashCancelledError);
  });
});
