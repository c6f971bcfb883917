// The private dependencies of the fault suite: each answers real requests,
// loses what it should (Redis) or keeps it (MariaDB, etcd) across a crash or a
// clean stop, and comes back on the same port.
import { existsSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { prepareTestDatabase } from './database';
import { canConnect } from './ports';
import { PrivateEtcd } from './private-etcd';
import { PrivateMariaDb } from './private-mariadb';
import { PrivateRedis } from './private-redis';

jest.setTimeout(90_000);

describe('PrivateRedis', () => {
  let redis: PrivateRedis | undefined;
  afterAll(async () => {
    await redis?.destroy();
  });

  it('serves, comes back empty on the same port after kill -9, and is gone after destroy', async () => {
    redis = await PrivateRedis.start();
    const port = redis.port;
    const client = new Redis(redis.url(3), { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    try {
      await client.set('k', 'v');
      expect(await client.get('k')).toBe('v');
      const pid = redis.pid;
      await redis.kill();
      expect(redis.isRunning).toBe(false);
      expect(await canConnect(port)).toBe(false);
      await redis.start();
      expect(redis.port).toBe(port);
      expect(redis.pid).not.toBe(pid);
      // Nothing on disk (--save "" --appendonly no): the restart lost the key.
      expect(await client.get('k')).toBeNull();
      await client.set('k2', 'v2');
      await redis.flushAll();
      expect(await client.get('k2')).toBeNull();
    } finally {
      client.disconnect();
    }
    const dir = redis.dir;
    await redis.destroy();
    expect(await canConnect(port)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('PrivateMariaDb', () => {
  let db: PrivateMariaDb | undefined;
  afterAll(async () => {
    await db?.destroy();
  });

  it('keeps committed rows across a clean stop and a kill -9, on the same port and datadir', async () => {
    db = await PrivateMariaDb.start();
    const port = db.port;
    const conn = await createConnection(db.url());
    await conn.query('CREATE DATABASE t');
    await conn.query('CREATE TABLE t.x (id INT PRIMARY KEY, s VARCHAR(20)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4');
    await conn.query("INSERT INTO t.x VALUES (1, '\u{1F600}')");
    await conn.end();

    await db.stop();
    expect(await canConnect(port)).toBe(false);
    await db.start();
    await db.kill();
    await db.start();
    expect(db.port).toBe(port);

    const again = await createConnection(db.url('t'));
    try {
      const [rows] = await again.query('SELECT id, s FROM x');
      expect(rows).toEqual([{ id: 1, s: '\u{1F600}' }]);
    } finally {
      await again.end();
    }
  });

  it('takes the TierTalk schema and demo users (prepareTestDatabase on another server)', async () => {
    if (!db) throw new Error('the previous test did not start MariaDB');
    const url = await prepareTestDatabase('tt_private', db.url());
    expect(url).toBe(`mysql://root@127.0.0.1:${db.port}/tt_private`);
    const conn = await createConnection(url);
    try {
      const [users] = await conn.query('SELECT name FROM IMUser ORDER BY id');
      // `system`: the send API's system sender, made by migration 0011 before the seed runs.
      expect(users).toEqual([{ name: 'system' }, { name: 'alice' }, { name: 'bob' }, { name: 'carol' }, { name: 'dave' }]);
    } finally {
      await conn.end();
    }
  });
});

describe('PrivateEtcd', () => {
  let etcd: PrivateEtcd | undefined;
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('keeps keys across kill -9, and answers nothing while paused', async () => {
    etcd = await PrivateEtcd.start();
    const client = new Etcd3({ hosts: [etcd.endpoint], dialTimeout: 1000 });
    try {
      await client.put('/a').value('1');
      await etcd.kill();
      await etcd.start();
      expect(await client.get('/a').string()).toBe('1');

      etcd.pause();
      const whilePaused = await Promise.race([
        client.get('/a').string().then(() => 'answered', () => 'failed'),
        new Promise<string>((resolve) => setTimeout(() => resolve('silent'), 1500)),
      ]);
      etcd.resume();
      expect(whilePaused).not.toBe('answered');
      await client.put('/b').value('2');
      expect(await client.get('/b').string()).toBe('2');
    } finally {
      client.close();
    }
  });
});
