import { ConfigError } from '@tiertalk/config';
import { TEAMTALK_DEFAULT_AES_KEY } from '@tiertalk/proto';
import { loadDbProxyConfig } from './config';

const PRODUCTION = {
  TT_MYSQL_MASTER_URL: 'mysql://tiertalk:pw@db:3306/teamtalk',
  TT_REDIS_UNREAD_URL: 'redis://:pw@r:6379/1',
  TT_REDIS_GROUP_SET_URL: 'redis://:pw@r:6379/1',
  TT_REDIS_TOKEN_URL: 'redis://:pw@r:6379/1',
  TT_REDIS_SYNC_URL: 'redis://:pw@r:6379/2',
  TT_REDIS_GROUP_MEMBER_URL: 'redis://:pw@r:6379/1',
  TT_AES_KEY: 'an-operator-chosen-32-byte-key!!',
};

function issues(env: NodeJS.ProcessEnv): string[] {
  try {
    loadDbProxyConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.key}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('db-proxy secrets', () => {
  it('in production, names every secret that has no value', () => {
    expect(issues({}).map((i) => i.split(':')[0]).sort()).toEqual([
      'TT_AES_KEY',
      'TT_MYSQL_MASTER_URL',
      'TT_REDIS_GROUP_MEMBER_URL',
      'TT_REDIS_GROUP_SET_URL',
      'TT_REDIS_SYNC_URL',
      'TT_REDIS_TOKEN_URL',
      'TT_REDIS_UNREAD_URL',
    ]);
  });

  it("refuses TeamTalk's AES key and MySQL URLs without a password in production", () => {
    const found = issues({ ...PRODUCTION, TT_AES_KEY: TEAMTALK_DEFAULT_AES_KEY, TT_MYSQL_REPLICA_URL: 'mysql://root@replica/teamtalk' });
    expect(found).toEqual([
      expect.stringMatching(/^TT_MYSQL_REPLICA_URL: refused in production: has no password/),
      expect.stringMatching(/^TT_AES_KEY: refused in production: TeamTalk's default AES key is published/),
    ]);
    expect(issues({ ...PRODUCTION, TT_MYSQL_MASTER_URL: 'mysql://root@db/teamtalk' })).toEqual([expect.stringMatching(/^TT_MYSQL_MASTER_URL: refused in production/)]);
  });

  it('starts in production with every secret set', () => {
    expect(loadDbProxyConfig(PRODUCTION).TT_AES_KEY).toBe(PRODUCTION.TT_AES_KEY);
  });

  it("in development, uses local defaults and TeamTalk's key", () => {
    const cfg = loadDbProxyConfig({ TT_ENV: 'development' });
    expect(cfg.TT_AES_KEY).toBe(TEAMTALK_DEFAULT_AES_KEY);
    expect(cfg.TT_MYSQL_MASTER_URL).toBe('mysql://root@127.0.0.1:3306/teamtalk');
    expect(cfg.TT_REDIS_SYNC_URL).toBe('redis://127.0.0.1:6379/2');
  });
});

describe('Redis settings', () => {
  it('accept a Redis Cluster by its seeds and refuse a malformed cluster form', () => {
    expect(issues({ ...PRODUCTION, TT_REDIS_UNREAD_URL: 'redis-cluster://:pw@r1:7000,r2:7001,r3:7002' })).toEqual([]);
    expect(loadDbProxyConfig({ ...PRODUCTION, TT_REDIS_SYNC_URL: 'redis-cluster://r1:7000/' }).TT_REDIS_SYNC_URL).toBe('redis-cluster://r1:7000/');
    expect(issues({ ...PRODUCTION, TT_REDIS_TOKEN_URL: 'redis-cluster://r1,r2:7001' })).toEqual([
      'TT_REDIS_TOKEN_URL: expected a Redis URL (redis://host:port/db) or redis-cluster://host:port[,host:port...]',
    ]);
  });
});

describe('TT_MYSQL_SHARDS', () => {
  const dev = (shards: string): NodeJS.ProcessEnv => ({ TT_ENV: 'development', TT_MYSQL_SHARDS: shards });

  it('is empty by default: every shard on the master', () => {
    expect(loadDbProxyConfig({ TT_ENV: 'development' }).TT_MYSQL_SHARDS).toEqual([]);
  });

  it('reads shard lists and ranges per server', () => {
    expect(loadDbProxyConfig(dev(' 4-6,0 = mysql://tt:pw@db2:3307/teamtalk ; 2=mysql://tt:pw@db3/tt_shards ;')).TT_MYSQL_SHARDS).toEqual([
      { shards: [0, 4, 5, 6], url: 'mysql://tt:pw@db2:3307/teamtalk' },
      { shards: [2], url: 'mysql://tt:pw@db3/tt_shards' },
    ]);
  });

  it.each([
    ['1=mysql://a/x;1=mysql://b/x', /shard 1 is listed twice/],
    ['1,1-2=mysql://a/x', /shard 1 is listed twice/],
    ['8=mysql://a/x', /shard 8 does not exist: shards are 0-7/],
    ['3-1=mysql://a/x', /from low to high/],
    ['1=mysql://a/x;2=mysql://a:3306/x', /server a:3306\/x is listed twice/],
    ['1=redis://a/x', /is not a mysql:\/\/ URL/],
    ['1=mysql://a', /names no database/],
    ['mysql://a/x', /is not <shards>=<url>/],
    ['a=mysql://a/x', /expected shard numbers/],
  ])('refuses %j', (value, why) => {
    const found = issues(dev(value));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^TT_MYSQL_SHARDS: /);
    expect(found[0]).toMatch(why);
  });

  it('refuses a shard server URL without a password in production, and never shows a password in an error', () => {
    expect(issues({ ...PRODUCTION, TT_MYSQL_SHARDS: '1=mysql://tt@db2/teamtalk' })).toEqual([expect.stringMatching(/^TT_MYSQL_SHARDS: refused in production: has no password/)]);
    expect(issues({ ...PRODUCTION, TT_MYSQL_SHARDS: '1=mysql://tt:pw@db2/teamtalk' })).toEqual([]);
    expect(issues(dev('1=mysql://tt:hunter2@db2')).join()).not.toContain('hunter2');
  });
});
