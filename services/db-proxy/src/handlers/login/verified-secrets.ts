import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * Outcomes of password checks, so a client that reconnects (a reconnect storm
 * after a gateway restart, a client retrying a stale saved password) is not
 * hashed with argon2id again. The key is an HMAC of (account, presented
 * secret, stored credential) under a random key that lives only in this
 * process: no secret or hash is kept, a changed password or hash is a
 * different key (so it cannot hit an old entry), and entries expire after the
 * TTL. Right and wrong outcomes are kept apart, so a flood of wrong guesses
 * cannot evict the logins of real users.
 */
export class VerifiedSecrets {
  private readonly key = randomBytes(32);
  private readonly accepted: LRUCache<string, true> | undefined;
  private readonly rejected: LRUCache<string, true> | undefined;

  constructor(opts: { max: number; ttlMs: number }) {
    if (opts.max > 0) {
      this.accepted = new LRUCache({ max: opts.max, ttl: opts.ttlMs });
      this.rejected = new LRUCache({ max: Math.max(1, Math.ceil(opts.max / 10)), ttl: opts.ttlMs });
    }
  }

  /** The key of one (account, secret, stored credential) triple. */
  keyOf(account: string, secret: string, stored: string): string {
    return createHmac('sha256', this.key).update(account).update('\0').update(secret).update('\0').update(stored).digest('base64');
  }

  /** true / false when this triple was checked before (and not expired), undefined otherwise. */
  outcome(key: string): boolean | undefined {
    if (this.accepted?.has(key)) return true;
    if (this.rejected?.has(key)) return false;
    return undefined;
  }

  remember(key: string, ok: boolean): void {
    (ok ? this.accepted : this.rejected)?.set(key, true);
  }
}
