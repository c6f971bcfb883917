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
