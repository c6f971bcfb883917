// One cluster per e2e test file, with its own Redis dbs and etcd prefix, and
// the sessions a test opens closed (and gone from route) before the next test.
//
//   const suite = e2eSuite('presence', { msg: 2 });
//   it('...', async () => {
//     const alice = await suite.session(suite.gateway(0), 'alice');
//     ...
//   });
//
// docs/TESTING.md explains when to use it and how to prove absence (absence.ts).
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import type { TeamTalkClient } from '@tiertalk/client';
import type { IM } from '@tiertalk/proto';
import { Cluster, claimRedisDbs, prepareTestDatabase, repoRoot, waitFor, type ClusterSpec, type GatewayInfo, type RedisDbClaim } from '@tiertalk/testkit';
import { DEMO_PASSWORD, PC, connect, createUser, loggedIn, testDbPool, userId } from './helpers';
import { PushLog } from './pushes';

/** The seeded demo users (prepareTestDatabase), whose ids every suite looks up. */
export const DEMO_USERS = ['alice', 'bob', 'carol', 'dave'] as const;

/** Where route's registry keeps a user's sessions (default TT_SESSION_KEY_PREFIX, services/route/src/session-store.ts). */
const registryUserKey = (userId: number | '*'): string => `tt:sm:user:${userId}`;
/** How long after a test its closed sessions may take to leave route's registry. */
const SESSIONS_GONE_MS = 10_000;

/** A logged-in connection with every PDU it received recorded from its first byte. */
export interface Session {
  name: string;
  client: TeamTalkClient;
  log: PushLog;
}

export interface E2eSuite {
  readonly cluster: Cluster;
  /** The test database (MariaDB, testConfig.mysqlTestUrl). */
  readonly pool: Pool;
  /** redis:// URLs of the dbs claimed for this file: db-proxy's (tokens, unread, …) and route's registry. */
  readonly redisUrls: { readonly dbProxy: string; readonly route: string };
  /** Demo user ids by name (alice, bob, carol, dave). */
  readonly ids: Readonly<Record<string, number>>;
  /** The n-th gateway as it was at start (0-based). */
  gateway(n: number): GatewayInfo;
  /** Connects to `gw` and logs `user` in; closed after the test. */
  session(gw: GatewayInfo, user: string, clientType?: IM.BaseDefine.ClientType): Promise<Session>;
  /** Connects to `gw` and logs `user` in, without a PushLog; closed after the test. */
  loggedIn(gw: GatewayInfo, user: string, clientType?: IM.BaseDefine.ClientType): Promise<TeamTalkClient>;
  /** A user of its own (`<prefix><n>`, password DEMO_PASSWORD), so tests do not see each other's conversations. */
  newUser(prefix: string): Promise<{ name: string; id: number }>;
  /** Closes `client` after the test (for clients made without session()). */
  track<T extends TeamTalkClient>(client: T): T;
  /** Runs `fn` after every test, before the wait for route's registry (e.g. destroying raw sockets that logged in). */
  afterEachTest(fn: () => void | Promise<void>): void;
  /** route's registry entries of a user ("<gatewayId>/<connId>" → client type). */
  registeredSessions(userId: number): Promise<Record<string, string>>;
  /** Resolves once route's registry holds no session of anybody. */
  waitRegistryEmpty(timeoutMs?: number): Promise<void>;
}

export interface E2eSuiteOptions {
  /**
   * Wait after each test until route's registry is empty (default true). A file
   * whose tests stop gateways with a long lease turns it off: their sessions stay
   * registered until the lease runs out, which is what such tests look at.
   */
  waitForLogouts?: boolean;
}

/**
 * Registers beforeAll/afterEach/afterAll in the calling test file: a fresh
 * test database, two Redis dbs claimed for this file (db-proxy's and route's),
 * a Cluster (its own etcd prefix, as always) and logs under
 * .run/test-logs/<name>. After each test the sessions it opened are closed and
 * the test waits until route has removed them, so a test never sees the
 * previous one's logouts (presence, kicks).
 */
export function e2eSuite(name: string, spec: ClusterSpec | (() => ClusterSpec) = {}, options: E2eSuiteOptions = {}): E2eSuite {
  let cluster: Cluster | undefined;
  let pool: Pool | undefined;
  let redisDbs: RedisDbClaim | undefined;
  let registry: Redis | undefined;
  const ids: Record<string, number> = {};
  const open: TeamTalkClient[] = [];
  const cleanups: Array<() => void | Promise<void>> = [];
  let userSeq = 0;
  let gateways: GatewayInfo[] = [];

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`e2eSuite(${name}): ${what} is used before beforeAll ran (or it failed)`);
    return value;
  };

  const suite: E2eSuite = {
    get cluster() {
      return started(cluster, 'cluster');
    },
    get pool() {
      return started(pool, 'pool');
    },
    get redisUrls() {
      const [dbProxy, route] = started(redisDbs, 'redisUrls').urls;
      return { dbProxy, route };
    },
    ids,
    gateway: (n) => {
      const gw = gateways[n];
      if (!gw) throw new Error(`e2eSuite(${name}): no gateway ${n} (started ${gateways.length})`);
      return gw;
    },
    async session(gw, user, clientType = PC) {
      const client = suite.track(await connect(gw));
      const log = new PushLog(client);
      await client.login(user, DEMO_PASSWORD, { clientType });
      return { name: user, client, log };
    },
    loggedIn: async (gw, user, clientType = PC) => suite.track(await loggedIn(gw, user, clientType)),
    async newUser(prefix) {
      const userName = `${prefix}${++userSeq}`;
      return { name: userName, id: await createUser(started(pool, 'pool'), userName) };
    },
    track(client) {
      open.push(client);
      return client;
    },
    afterEachTest(fn) {
      cleanups.push(fn);
    },
    registeredSessions: async (id) => started(registry, 'registry').hgetall(registryUserKey(id)),
    async waitRegistryEmpty(timeoutMs = SESSIONS_GONE_MS) {
      const redis = started(registry, 'registry');
      await waitFor(async () => (await redis.keys(registryUserKey('*'))).length === 0, timeoutMs, {
        what: `route's registry to drop every session (${registryUserKey('*')} in db ${redisDbs?.dbs[1]})`,
      });
    },
  };

  beforeAll(async () => {
    redisDbs = await claimRedisDbs(2);
    const [dbProxy, route] = redisDbs.dbs;
    await prepareTestDatabase();
    // A function spec is read now, after the file's earlier beforeAll hooks (e.g. a webhook it points at).
    const clusterSpec = typeof spec === 'function' ? spec() : spec;
    cluster = await Cluster.start({ logDir: path.join(repoRoot, '.run', 'test-logs', name), ...clusterSpec, redisDbs: { dbProxy, route } });
    gateways = cluster.gateways();
    registry = new Redis(redisDbs.urls[1], { maxRetriesPerRequest: 1 });
    pool = testDbPool();
    for (const user of DEMO_USERS) ids[user] = await userId(pool, user);
  });

  afterEach(async () => {
    // Each close is a logout at the gateway, which route hears on its LogoutStream;
    // an empty registry means every one was applied (and its presence queued).
    await Promise.all(open.splice(0).map((c) => c.close()));
    for (const fn of cleanups) await fn();
    if (registry && options.waitForLogouts !== false) await suite.waitRegistryEmpty();
  });

  afterAll(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await cluster?.stop();
    await pool?.end();
    registry?.disconnect();
    await redisDbs?.release();
  });

  return suite;
}
