// The testkit's own plumbing against the real services (Cluster is exercised by
// the e2e tests, which need the built services).
import { readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2/promise';
import { WaitTimeoutError, claimRedisDbs, flushTestRedis, freePort, prepareTestDatabase, repoRoot, testConfig, uniquePrefix, waitFor } from './index';

describe('freePort', () => {
  it('returns distinct ports that can be bound on 127.0.0.1', async () => {
    const a = await freePort();
    const b = await freePort();
    expect(a).toBeGreaterThan(0);
    expect(b).not.toBe(a);
    const srv = net.createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(a, '127.0.0.1', resolve);
    });
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });

  // A cluster takes a dozen ports in a row; the kernel may offer a port again once its probe closed (CI saw a gateway
  // given the same gRPC and WebSocket port).
  it('never hands out the same port twice in one run', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 500; i += 1) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
  });
});

describe('prepareTestDatabase', () => {
  it('recreates the test database (teamtalk_test unless TT_TEST_DB) with the schema and the demo users, every time', async () => {
    const url = await prepareTestDatabase();
    expect(url).toBe(`mysql://root@127.0.0.1:3306/${process.env.TT_TEST_DB || 'teamtalk_test'}`);
    expect(url).toBe(testConfig.mysqlTestUrl);
    const conn = await createConnection(url);
    try {
      await conn.query("INSERT INTO IMGroup (name, status, created, updated) VALUES ('left over', 0, 1, 1)");
      expect(await prepareTestDatabase()).toBe(url);
      // A fresh connection: the old one's database was dropped under it.
      const fresh = await createConnection(url);
      try {
        const [groups] = await fresh.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM IMGroup');
        expect(groups[0]?.n).toBe(0);
        const [users] = await fresh.query<RowDataPacket[]>('SELECT name FROM IMUser ORDER BY id');
        // `system`: the send API's system sender, made by migration 0011 before the seed runs.
        expect(users.map((u) => u.name)).toEqual(['system', 'alice', 'bob', 'carol', 'dave']);
        const [versions] = await fresh.query<RowDataPacket[]>('SELECT version FROM tt_schema_migrations ORDER BY version');
        // Every migration db-proxy ships, in order (TeamTalk's schema first).
        const shipped = readdirSync(path.join(repoRoot, 'services', 'db-proxy', 'migrations'))
          .filter((f) => f.endsWith('.sql'))
          .map((f) => f.replace(/\.sql$/, ''))
          .sort();
        expect(shipped[0]).toBe('0001_teamtalk_schema');
        expect(versions.map((v) => v.version)).toEqual(shipped);
      } finally {
        await fresh.end();
      }
    } finally {
      await conn.end();
    }
  });
});

describe('flushTestRedis', () => {
  it('empties dbs 10 and 11 and nothing else', async () => {
    const probes = [10, 11, 12].map((db) => new Redis(testConfig.redisUrl(db)));
    const key = `tt-testkit-probe-${uniquePrefix().slice(1)}`;
    try {
      for (const r of probes) await r.set(key, '1');
      await flushTestRedis();
      const [p10, p11, p12] = probes;
      expect(await p10?.exists(key)).toBe(0);
      expect(await p11?.exists(key)).toBe(0);
      expect(await p12?.exists(key)).toBe(1);
    } finally {
      await probes[2]?.del(key);
      for (const r of probes) r.disconnect();
    }
  });
});

describe('waitFor and uniquePrefix', () => {
  it('resolves once the predicate holds and names what timed out', async () => {
    let n = 0;
    await waitFor(() => ++n >= 3, 1000, { intervalMs: 1 });
    expect(n).toBe(3);
    await expect(waitFor(() => false, 30, { what: 'nothing' })).rejects.toThrow(WaitTimeoutError);
    await expect(waitFor(() => false, 30, { what: 'nothing' })).rejects.toThrow(/waiting for nothing/);
  });

  it('gives each caller its own etcd prefix', () => {
    const a = uniquePrefix();
    expect(a).toMatch(/^\/tiertalk-test-[0-9a-f]{12}$/);
    expect(uniquePrefix()).not.toBe(a);
  });
});

describe('claimRedisDbs', () => {
  it('hands concurrent claims different dbs (never make up\'s 1-3 nor the shared 10-11) and empties them on release', async () => {
    const a = await claimRedisDbs(2);
    const b = await claimRedisDbs(2);
    try {
      const all = [...a.dbs, ...b.dbs];
      expect(new Set(all).size).toBe(4);
      for (const db of all) expect([0, 1, 2, 3, 10, 11]).not.toContain(db);
      const redis = new Redis(a.urls[0]);
      try {
        await redis.set('tt-claim-test', '1');
      } finally {
        redis.disconnect();
      }
    } finally {
      await b.release();
    }
    const again = await claimRedisDbs(2);
    try {
      // a's are still held (b's are free again, for this or another run).
      for (const db of again.dbs) expect(a.dbs).not.toContain(db);
    } finally {
      await again.release();
      await a.release();
    }
    const check = new Redis(a.urls[0]);
    try {
      expect(await check.exists('tt-claim-test')).toBe(0);
    } finally {
      check.disconnect();
    }
  });
});
