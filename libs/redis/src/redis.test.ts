import { Cluster, Redis } from 'ioredis';
import { parseRedisTarget } from '@tiertalk/config';
import { Readiness, watchRedis } from '@tiertalk/health';
import { countRedisErrors, metricsRegistry } from '@tiertalk/metrics';
import { PrivateRedisCluster, waitFor } from '@tiertalk/testkit';
import { batch, closeRedisClient, createRedisClient, deleteKeys, hashedPart, slotTag, totalKeys, type RedisClient } from './index';

describe('Redis settings', () => {
  it('reads a cluster form with seeds and credentials, and leaves other URLs to ioredis', () => {
    expect(parseRedisTarget('redis-cluster://app:p%40ss@10.0.0.1:7000,10.0.0.2:7001/')).toEqual({
      kind: 'cluster',
      seeds: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      username: 'app',
      password: 'p@ss',
    });
    expect(parseRedisTarget('redis-cluster://:pw@[::1]:7000')).toEqual({ kind: 'cluster', seeds: [{ host: '::1', port: 7000 }], password: 'pw' });
    expect(parseRedisTarget('redis://127.0.0.1:6379/1')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379/1' });
    expect(() => parseRedisTarget('redis-cluster://host-without-port')).toThrow(/host:port/);
    expect(() => parseRedisTarget('redis-cluster://a:1/3')).toThrow(/redis-cluster/);
  });

  it('hash tags only on a cluster, and finds the hashed part as Redis does', () => {
    const single = new Redis({ lazyConnect: true });
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    expect(slotTag(single, 42)).toBe('42');
    expect(slotTag(cluster, 42)).toBe('{42}');
    expect(hashedPart('7_{42}_im_user_group')).toBe('42');
    expect(hashedPart('unread_7')).toBe('unread_7');
    expect(hashedPart('a{}b{c}')).toBe('a{}b{c}');
    single.disconnect();
    cluster.disconnect();
  });
});

describe('a real three-master Redis Cluster', () => {
  let cluster: PrivateRedisCluster;
  let client: RedisClient;

  beforeAll(async () => {
    cluster = await PrivateRedisCluster.start();
    client = createRedisClient(cluster.url(), { maxRetriesPerRequest: 2 });
  }, 60_000);

  afterAll(async () => {
    if (client) await closeRedisClient(client);
    await cluster?.destroy();
  });

  it('is a cluster client, and refuses a script whose keys lie in two slots (CROSSSLOT)', async () => {
    expect(client).toBeInstanceOf(Cluster);
    await expect(client.eval("redis.call('SET', KEYS[1], 1) redis.call('SET', KEYS[2], 1) return 1", 2, 'a', 'b')).rejects.toThrow(/CROSSSLOT|same slot/);
    await expect(client.eval("redis.call('SET', KEYS[1], 1) redis.call('SET', KEYS[2], 1) return 1", 2, 'x{t}', 'y{t}')).resolves.toBe(1);
    await client.del('x{t}', 'y{t}');
  });

  it('runs a batch spread over every master and returns replies in call order', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `batch_key_${i}`);
    // A plain pipeline of these keys is what ioredis refuses on a cluster.
    const plain = client.pipeline();
    for (const k of keys) plain.set(k, k);
    await expect(plain.exec()).rejects.toThrow(/same slot/);

    const writes = batch(client);
    keys.forEach((k, i) => writes.set(k, String(i)));
    expect(writes.length).toBe(60);
    expect(((await writes.exec()) ?? []).every(([err, ok]) => err === null && ok === 'OK')).toBe(true);
    const reads = batch(client);
    for (const k of keys) reads.get(k);
    reads.hget(keys[0] ?? '', 'f');
    const replies = (await reads.exec()) ?? [];
    expect(replies.slice(0, 60).map(([, v]) => v)).toEqual(keys.map((_, i) => String(i)));
    expect(replies[60]?.[0]?.message).toMatch(/WRONGTYPE/);
    expect(await totalKeys(client)).toBe(60);
    // The keys really are spread: every master holds some.
    expect(await Promise.all((client as Cluster).nodes('master').map((n) => n.dbsize()))).not.toContain(0);
    await deleteKeys(client, keys);
    expect(await totalKeys(client)).toBe(0);
  });

  it('passes the readiness check, and its failed commands count in tt_redis_errors_total', async () => {
    const readiness = new Readiness('svc');
    // Not auto-pipelined: ioredis then checks slots itself and the server never sees the command.
    const counted = countRedisErrors(createRedisClient(cluster.url(), { maxRetriesPerRequest: 1, enableAutoPipelining: false }), 'cluster_test');
    const watcher = watchRedis(readiness.add('redis:cluster_test'), counted, { intervalMs: 200 });
    try {
      await waitFor(() => readiness.ready, 10_000, { what: 'redis:cluster_test to pass' });
      await expect(counted.eval("return redis.call('GET', KEYS[1]) or redis.call('GET', KEYS[2])", 2, 'a', 'b')).rejects.toThrow(/CROSSSLOT/);
      const metric = (await metricsRegistry.getSingleMetric('tt_redis_errors_total')?.get())?.values ?? [];
      expect(metric.find((v) => v.labels.redis === 'cluster_test' && v.labels.op === 'eval')?.value).toBe(1);
    } finally {
      await watcher.stop();
      await closeRedisClient(counted);
    }
  });
});
