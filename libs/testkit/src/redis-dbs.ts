// Private Redis db numbers per test file: a file claims free dbs of the test
// Redis for as long as it runs, so two files (or two runs on one machine, e.g.
// a developer's and CI's) never flush or read each other's keys.
// Claims are keys in db 0 set with NX and an expiry, so a crashed run frees
// its dbs on its own; dbs 1-3 (`make up`) and 10-11 (testConfig's defaults
// for tests not yet claiming) are never handed out.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { testConfig } from './config';

const CLAIMABLE: readonly number[] = [4, 5, 6, 7, 8, 9, 12, 13, 14, 15];
const CLAIM_KEY = (db: number): string => `tiertalk-test:db-claim:${db}`;
/** Longer than any test file runs; renewed by nothing, released by release(). */
const CLAIM_TTL_SEC = 3600;

export interface RedisDbClaim {
  readonly dbs: readonly number[];
  /** redis://<test redis>/<db> of each claimed db, in order. */
  readonly urls: readonly string[];
  /** Flushes the claimed dbs and gives them back. */
  release(): Promise<void>;
}

function connectTo(db: number): Redis {
  return new Redis(testConfig.redisUrl(db), { lazyConnect: true, maxRetriesPerRequest: 1 });
}

/** Claims `count` free dbs of the test Redis (TT_TEST_REDIS_ADDR) and empties them. */
export async function claimRedisDbs(count: number): Promise<RedisDbClaim> {
  const token = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const admin = connectTo(0);
  await admin.connect();
  const dbs: number[] = [];
  try {
    for (const db of CLAIMABLE) {
      if (dbs.length === count) break;
      if ((await admin.set(CLAIM_KEY(db), token, 'EX', CLAIM_TTL_SEC, 'NX')) === 'OK') dbs.push(db);
    }
    if (dbs.length < count) throw new Error(`claimRedisDbs: only ${dbs.length} of ${count} test Redis dbs are free (claims: ${CLAIMABLE.map(CLAIM_KEY).join(', ')})`);
    await flushDbs(dbs);
  } catch (err) {
    await releaseClaims(admin, dbs, token);
    admin.disconnect();
    throw err;
  }
  admin.disconnect();
  return {
    dbs,
    urls: dbs.map((db) => testConfig.redisUrl(db)),
    release: async () => {
      await flushDbs(dbs);
      const again = connectTo(0);
      try {
        await again.connect();
        await releaseClaims(again, dbs, token);
      } finally {
        again.disconnect();
      }
    },
  };
}

async function flushDbs(dbs: readonly number[]): Promise<void> {
  for (const db of dbs) {
    const redis = connectTo(db);
    try {
      await redis.connect();
      await redis.flushdb();
    } finally {
      redis.disconnect();
    }
  }
}

// Only our own claims: a claim that expired and was taken by another run stays.
const RELEASE_LUA = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

async function releaseClaims(admin: Redis, dbs: readonly number[], token: string): Promise<void> {
  for (const db of dbs) await admin.eval(RELEASE_LUA, 1, CLAIM_KEY(db), token);
}

/** The hooks of the test runner (jest's globals), so testkit itself needs no runner types. */
export interface FileHooks {
  beforeAll(fn: () => Promise<void>): void;
  afterAll(fn: () => Promise<void>): void;
}

/** Dbs claimed for one test file: readable from its beforeAll hooks on. */
export interface FileRedisDbs {
  /** redis:// URLs of the claimed dbs, in order. */
  readonly urls: readonly string[];
  /** The first one's URL. */
  readonly url: string;
}

/**
 * Claims `count` dbs in a beforeAll of the calling test file and gives them
 * back (flushed) in its afterAll: `const redisDb = redisDbsForFile({ beforeAll, afterAll });`
 * at the top of the file, then `redisDb.url` in tests and later hooks.
 */
export function redisDbsForFile(hooks: FileHooks, count = 1): FileRedisDbs {
  let claim: RedisDbClaim | undefined;
  hooks.beforeAll(async () => {
    claim = await claimRedisDbs(count);
  });
  hooks.afterAll(async () => {
    await claim?.release();
  });
  const urls = (): readonly string[] => {
    if (!claim) throw new Error('redisDbsForFile: the dbs are claimed in beforeAll; read them from a hook or a test');
    return claim.urls;
  };
  return {
    get urls() {
      return urls();
    },
    get url() {
      return urls()[0];
    },
  };
}
