// Validate handler options for db-proxy's tests: the service's limits, and a
// cheaper argon2id (the cost parameters do not change what is tested).
import type { ValidateOptions } from '../src/handlers/login/create-validate';

export function testValidateOptions(overrides: Partial<ValidateOptions['limits']> = {}, rest: Partial<Omit<ValidateOptions, 'limits'>> = {}): ValidateOptions {
  return {
    limits: { failLimit: 10, failWindowSec: 1800, ipFailLimit: 100, ipRateLimit: 1000, ipRateWindowSec: 10, ...overrides },
    argon2: { memoryKiB: 4096, timeCost: 2, parallelism: 1 },
    hashConcurrency: 2,
    hashQueueMax: 2000,
    cacheMax: 1000,
    cacheTtlSec: 600,
    ...rest,
  };
}
