import { hash, verify, type Algorithm } from '@node-rs/argon2';
import pLimit from 'p-limit';

export interface Argon2Params {
  memoryKiB: number;
  timeCost: number;
  parallelism: number;
}

/** Too many hash jobs already wait: the login is refused rather than queued without bound. */
export class HashQueueFullError extends Error {
  readonly code = 'HASH_QUEUE_FULL';
  constructor(readonly waiting: number) {
    super(`${waiting} password hash jobs waiting`);
    this.name = 'HashQueueFullError';
  }
}

/** The caller went away (its gRPC deadline passed) while the job waited: the work is skipped. */
export class HashCancelledError extends Error {
  readonly code = 'HASH_CANCELLED';
  constructor() {
    super('password hash job skipped: its caller is gone');
    this.name = 'HashCancelledError';
  }
}

/** Asked when a queued job gets its turn; true skips it. */
export type IsCancelled = () => boolean;

const ARGON2ID = 2 as Algorithm;

/**
 * argon2id through @node-rs/argon2's async API: each job is a napi async work
 * item, so it runs on libuv's thread pool and never on the event loop. At most
 * `concurrency` jobs run at once, so hashing cannot take every pool thread
 * (DNS lookups and file I/O share the pool: keep `concurrency` + 1 at most
 * UV_THREADPOOL_SIZE, default 4); at most `queueMax` more wait. Background
 * work (rehashing after a login) has its own lane of one job at a time, so it
 * never queues ahead of a login's check.
 */
export class PasswordHasher {
  private readonly limit: pLimit.Limit;
  private readonly background = pLimit(1);
  private readonly prefix: string;
  private readonly queueMax: number;

  constructor(
    private readonly params: Argon2Params,
    opts: { concurrency: number; queueMax: number },
  ) {
    this.limit = pLimit(opts.concurrency);
    this.queueMax = opts.queueMax;
    this.prefix = `$argon2id$v=19$m=${params.memoryKiB},t=${params.timeCost},p=${params.parallelism}$`;
  }

  hash(secret: string, isCancelled?: IsCancelled): Promise<string> {
    return this.run(isCancelled, () => hash(secret, { algorithm: ARGON2ID, memoryCost: this.params.memoryKiB, timeCost: this.params.timeCost, parallelism: this.params.parallelism }));
  }

  /** hash() in the background lane; HashQueueFullError when `queueMax` jobs wait there already. */
  hashInBackground(secret: string): Promise<string> {
    if (this.background.pendingCount >= this.queueMax) return Promise.reject(new HashQueueFullError(this.background.pendingCount));
    return this.background(() => hash(secret, { algorithm: ARGON2ID, memoryCost: this.params.memoryKiB, timeCost: this.params.timeCost, parallelism: this.params.parallelism }));
  }

  /** Constant time in the secret (argon2's own comparison); false for a malformed stored hash. */
  verify(stored: string, secret: string, isCancelled?: IsCancelled): Promise<boolean> {
    return this.run(isCancelled, () => verify(stored, secret).catch(() => false));
  }

  /** Whether a stored hash was made with other parameters than the configured ones (then it is rehashed). */
  isOutdated(stored: string): boolean {
    return !stored.startsWith(this.prefix);
  }

  /** Jobs waiting for a pool slot (not counting the running ones). */
  get waiting(): number {
    return this.limit.pendingCount;
  }

  private run<T>(isCancelled: IsCancelled | undefined, job: () => Promise<T>): Promise<T> {
    if (this.limit.pendingCount >= this.queueMax) return Promise.reject(new HashQueueFullError(this.limit.pendingCount));
    // Under overload a login may wait here past its deadline; nobody waits for its answer any more.
    return this.limit(() => (isCancelled?.() ? Promise.reject(new HashCancelledError()) : job()));
  }
}
