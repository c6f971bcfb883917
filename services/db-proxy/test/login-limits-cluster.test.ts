// The login limits' scripts on a real three-master Redis Cluster: each
// attempt's counters share the client address's slot; attempts without an
// address (counted per name only) or without a name (per address only) pass
// keys of one slot too. A script touching two slots would fail with CROSSSLOT.
import { Cluster } from 'ioredis';
import { closeRedisClient, createRedisClient, type RedisClient } from '@tiertalk/redis';
import { PrivateRedisCluster } from '@tiertalk/testkit';
import { LoginLimits } from '../src/handlers/login/login-limits';

const LIMITS = { failLimit: 2, failWindowSec: 60, ipFailLimit: 4, ipRateLimit: 6, ipRateWindowSec: 60 };

let redisCluster: PrivateRedisCluster;
let client: RedisClient;

beforeAll(async () => {
  redisCluster = await PrivateRedisCluster.start();
  client = createRedisClient(redisCluster.url(), { maxRetriesPerRequest: 1 });
  await new Promise<void>((resolve) => client.once('ready', () => resolve()));
}, 60_000);
afterAll(async () => {
  if (client) await closeRedisClient(client);
  await redisCluster?.destroy();
});

it('locks (name, address) after the failure limit, and a right password from there gives the address its attempt back', async () => {
  const limits = new LoginLimits(client, LIMITS);
  expect(await limits.attempt('ann', '10.0.0.1')).toEqual({ allowed: true });
  expect(await limits.attempt('ann', '10.0.0.1')).toEqual({ allowed: true });
  expect(await limits.attempt('ann', '10.0.0.1')).toMatchObject({ allowed: false, reason: 'login_locked_user_ip' });
  // Another address is not locked for ann.
  expect(await limits.attempt('ann', '10.0.0.2')).toEqual({ allowed: true });
  await limits.succeeded('ann', '10.0.0.2');
  expect(await client.exists('tt_login_fail_user_ip:{10.0.0.2}["10.0.0.2","ann"]')).toBe(0);
  expect(await client.get('tt_login_fail_ip:{10.0.0.2}')).toBe('0');
});

it('counts an attempt without an address per name, and one without a name per address', async () => {
  const limits = new LoginLimits(client, LIMITS);
  for (let i = 0; i < LIMITS.failLimit; i++) expect(await limits.attempt('bea', undefined)).toEqual({ allowed: true });
  expect(await limits.attempt('bea', undefined)).toMatchObject({ allowed: false, reason: 'login_locked_user_ip' });
  await limits.succeeded('bea', undefined);
  expect(await limits.attempt('bea', undefined)).toEqual({ allowed: true });

  for (let i = 0; i < LIMITS.ipFailLimit; i++) expect(await limits.attempt(undefined, '10.0.0.9')).toEqual({ allowed: true });
  expect(await limits.attempt(undefined, '10.0.0.9')).toMatchObject({ allowed: false, reason: 'login_locked_ip' });
});

it('spreads different addresses over the masters (so the tests above crossed nodes)', async () => {
  const limits = new LoginLimits(client, LIMITS);
  for (let i = 0; i < 30; i++) await limits.attempt('cid', `10.1.0.${i}`);
  expect(await Promise.all((client as Cluster).nodes('master').map((n) => n.dbsize()))).not.toContain(0);
});
