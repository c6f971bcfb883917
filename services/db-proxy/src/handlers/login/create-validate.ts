import type { Logger } from '@tiertalk/log';
import { RefusalLog } from '@tiertalk/metrics';
import type { RedisClient } from '@tiertalk/redis';
import type { MysqlPools } from '../../store/mysql';
import { LoginAccountStore } from '../../store/login-accounts';
import { LoginLimits, type LoginLimitOptions } from './login-limits';
import { PasswordHasher, type Argon2Params } from './password-hasher';
import { PasswordVerifier } from './password-verifier';
import { ValidateHandler } from './validate';
import { VerifiedSecrets } from './verified-secrets';

export interface ValidateOptions {
  limits: LoginLimitOptions;
  argon2: Argon2Params;
  hashConcurrency: number;
  hashQueueMax: number;
  cacheMax: number;
  cacheTtlSec: number;
}

/** Validate as db-proxy runs it: accounts on the MySQL master, counters in the token Redis. */
export function createValidateHandler(mysql: Pick<MysqlPools, 'master'>, tokenRedis: RedisClient, opts: ValidateOptions, log: Logger): ValidateHandler {
  const accounts = new LoginAccountStore(mysql.master);
  const hasher = new PasswordHasher(opts.argon2, { concurrency: opts.hashConcurrency, queueMax: opts.hashQueueMax });
  const verifier = new PasswordVerifier(hasher, new VerifiedSecrets({ max: opts.cacheMax, ttlMs: opts.cacheTtlSec * 1000 }), accounts, log);
  return new ValidateHandler(accounts, verifier, new LoginLimits(tokenRedis, opts.limits), new RefusalLog(log));
}
