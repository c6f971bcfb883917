import { randomUUID } from 'node:crypto';
import { totalKeys, type RedisClient } from '@tiertalk/redis';

// Redis here keeps nothing on disk: a restart (or a flush) empties the unread
// instance and with it every unread counter. This key exists as long as the
// counters do; when it is gone, they are gone too. A new epoch is then set
// (SET NX: instances that notice at once agree on one value) and every user's
// counters are rebuilt from MySQL once in it (unread-rebuild.ts).
//
// A missing key is a loss when this instance saw an epoch before, or when the
// Redis db is empty. The one other case is the first start of a version with
// epochs on a Redis that kept its counters (TeamTalk's or an older
// TierTalk's): that epoch is marked "kept" and nothing is rebuilt in it, since
// the live counters are right and older conversations have no cursors yet.
// db-proxy checks before it serves, so on an empty Redis nothing of its own
// was written yet.
export const UNREAD_EPOCH_KEY = 'tt_unread_epoch';
const REBUILD_PREFIX = 'rebuild:';
const KEPT_PREFIX = 'kept:';

/** Whether counters must be rebuilt in this epoch (it began with a loss). */
export const epochNeedsRebuild = (epoch: string): boolean => epoch.startsWith(REBUILD_PREFIX);

export interface EpochEvents {
  onError(err: unknown): void;
  /** The epoch changed under this instance: Redis lost the counters (or another instance noticed first). */
  onChange(previous: string, epoch: string): void;
}

export class UnreadEpoch {
  private value: string | undefined;
  private checking: Promise<string> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private events: EpochEvents | undefined;
  private readonly onReady = (): void => void this.check().catch((err: unknown) => this.events?.onError(err));

  constructor(private readonly unreadRedis: RedisClient) {}

  /** The epoch the counters in Redis belong to (read from Redis on first use). */
  async current(): Promise<string> {
    return this.value ?? this.check();
  }

  /** Reads the epoch key, setting a new epoch when it is missing. */
  check(): Promise<string> {
    this.checking ??= this.read().finally(() => (this.checking = undefined));
    return this.checking;
  }

  /** Checks every `intervalMs` and whenever the connection is (re)established. */
  start(intervalMs: number, events: EpochEvents): void {
    if (this.timer !== undefined) return;
    this.events = events;
    this.unreadRedis.on('ready', this.onReady);
    this.timer = setInterval(this.onReady, intervalMs);
    this.timer.unref();
    this.onReady();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.unreadRedis.off('ready', this.onReady);
  }

  private async read(): Promise<string> {
    let epoch = await this.unreadRedis.get(UNREAD_EPOCH_KEY);
    if (epoch === null) {
      const lost = this.value !== undefined || (await totalKeys(this.unreadRedis)) === 0;
      const fresh = (lost ? REBUILD_PREFIX : KEPT_PREFIX) + randomUUID().replace(/-/g, '');
      const set = await this.unreadRedis.set(UNREAD_EPOCH_KEY, fresh, 'NX');
      // Another instance set it first: theirs is the epoch.
      epoch = set === 'OK' ? fresh : await this.unreadRedis.get(UNREAD_EPOCH_KEY);
      if (epoch === null) throw new Error('unread epoch vanished while being set');
    }
    const previous = this.value;
    this.value = epoch;
    if (previous !== undefined && previous !== epoch) this.events?.onChange(previous, epoch);
    return epoch;
  }
}
