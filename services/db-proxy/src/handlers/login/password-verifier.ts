import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from '@tiertalk/log';
import type { LoginAccountRow, LoginAccountStore } from '../../store/login-accounts';
import type { IsCancelled, PasswordHasher } from './password-hasher';
import type { VerifiedSecrets } from './verified-secrets';

/** TeamTalk's password rule (docs/FLOWS.md §2): stored = md5hex(client-sent value + salt). Constant time. */
export function legacyPasswordMatches(sent: string, salt: string, stored: string): boolean {
  const digest = Buffer.from(createHash('md5').update(sent + salt, 'utf8').digest('hex'), 'utf8');
  const expected = Buffer.from(stored, 'utf8');
  // Both are 32 hex digits for any real row; a length mismatch is a row no password matches.
  return digest.length === expected.length && timingSafeEqual(digest, expected);
}

/**
 * Which credential of an account is current. The argon2id row records the
 * IMUser.password/salt it was made from; if IMUser holds other values now, a
 * TeamTalk admin (or tool) reset the password in IMUser after the row was
 * written, and that newer password wins. This is exact, unlike comparing
 * IMUser.updated with the row's time: `updated` changes with any profile edit
 * (avatar, sign info), has one-second resolution and comes from whichever
 * clock wrote it.
 */
export function currentCredential(row: LoginAccountRow): { kind: 'argon2'; hash: string } | { kind: 'legacy' } {
  if (row.argon2Hash !== null && row.legacyPassword === row.password && row.legacySalt === row.salt) {
    return { kind: 'argon2', hash: row.argon2Hash };
  }
  return { kind: 'legacy' };
}

/**
 * Checks a presented secret (what a TeamTalk client sends: md5hex of the
 * password) against an account. Every refusal that is not remembered costs
 * one argon2id operation, whether the account exists, has only TeamTalk's md5
 * hash, or has an argon2id hash, so the time does not tell which. A right
 * TeamTalk md5 password is rehashed to argon2id after the answer.
 */
export class PasswordVerifier {
  private dummy: Promise<string> | undefined;
  private readonly upgrades = new Map<number, Promise<void>>();

  constructor(
    private readonly hasher: PasswordHasher,
    private readonly remembered: VerifiedSecrets,
    private readonly accounts: Pick<LoginAccountStore, 'saveHash'>,
    private readonly log: Logger,
  ) {}

  /** `nameKey`: the normalised login name, keying the outcome of a name that has no account. */
  async verify(row: LoginAccountRow | undefined, nameKey: string, secret: string, isCancelled?: IsCancelled): Promise<boolean> {
    if (row === undefined) return this.againstDummy(`n:${nameKey}`, secret, isCancelled);
    const account = `u:${row.id}`;
    const credential = currentCredential(row);
    if (credential.kind === 'argon2') {
      const key = this.remembered.keyOf(account, secret, credential.hash);
      const known = this.remembered.outcome(key);
      if (known !== undefined) return known;
      const ok = await this.hasher.verify(credential.hash, secret, isCancelled);
      this.remembered.remember(key, ok);
      if (ok && this.hasher.isOutdated(credential.hash)) this.upgrade(row, secret);
      return ok;
    }
    if (!legacyPasswordMatches(secret, row.salt ?? '', row.password ?? '')) {
      return this.againstDummy(`${account}:md5:${row.password}:${row.salt}`, secret, isCancelled);
    }
    this.upgrade(row, secret);
    return true;
  }

  /** Resolves once the upgrades started so far are done (tests). */
  async upgradesSettled(): Promise<void> {
    await Promise.all([...this.upgrades.values()]);
  }

  /** A wrong answer that costs what a real argon2id check costs (unless this very guess was answered before). */
  private async againstDummy(account: string, secret: string, isCancelled?: IsCancelled): Promise<boolean> {
    const key = this.remembered.keyOf(account, secret, 'dummy');
    if (this.remembered.outcome(key) === false) return false;
    this.dummy ??= this.hasher.hash(randomBytes(16).toString('hex'));
    await this.hasher.verify(await this.dummy, secret, isCancelled);
    this.remembered.remember(key, false);
    return false;
  }

  /**
   * Stores the argon2id hash of a secret just proven right, tied to the
   * IMUser.password/salt it was proven against (so a later reset in IMUser
   * still wins). Off the login's path: the login is answered at once and the
   * hash is made in the hasher's background lane (one job at a time, never
   * ahead of a login's check), once per user however often they log in
   * meanwhile. So upgrading a whole TeamTalk database delays no login.
   */
  private upgrade(row: LoginAccountRow, secret: string): void {
    if (this.upgrades.has(row.id)) return;
    const job = this.store(row, secret).finally(() => this.upgrades.delete(row.id));
    this.upgrades.set(row.id, job);
  }

  private async store(row: LoginAccountRow, secret: string): Promise<void> {
    try {
      const hash = await this.hasher.hashInBackground(secret);
      await this.accounts.saveHash(row.id, hash, row.password, row.salt, Math.floor(Date.now() / 1000));
      this.remembered.remember(this.remembered.keyOf(`u:${row.id}`, secret, hash), true);
    } catch (err) {
      this.log.warn({ err, userId: row.id }, 'password not rehashed to argon2id; retried at the next login');
    }
  }
}
