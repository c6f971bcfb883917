import { commonConfigSchema, ConfigError, loadConfig, logConfig, maskConfig, maskUrlPasswords, secret, url } from './index';

describe('maskConfig', () => {
  it('hides passwords inside URLs, and keeps the rest of the URL', () => {
    expect(maskUrlPasswords('mysql://tt:s3cr%40t@db:3306/teamtalk')).toBe('mysql://tt:***@db:3306/teamtalk');
    expect(maskUrlPasswords('redis://:hunter2@cache:6379/1')).toBe('redis://:***@cache:6379/1');
    expect(maskUrlPasswords('redis://default:p@ss@cache:6379/1')).toBe('redis://default:***@cache:6379/1');
    expect(maskUrlPasswords('mysql://root@db/tt')).toBe('mysql://root@db/tt');
    expect(maskUrlPasswords('http://a:1@e1:2379,http://b:2@e2:2379')).toBe('http://a:***@e1:2379,http://b:***@e2:2379');
  });

  it('hides TT_AES_KEY and every *_PASSWORD, *_TOKEN, *_KEY, *_SECRET, and URLs with passwords anywhere', () => {
    const masked = maskConfig({
      TT_AES_KEY: '12345678901234567890123456789012',
      TT_MYSQL_PASSWORD: 'pw1',
      TT_ADMIN_TOKEN: 'tok',
      TT_TLS_KEY: '/run/tls/x.key',
      TT_WEBHOOK_SECRET: 'sh',
      TT_MYSQL_MASTER_URL: 'mysql://tt:pw2@db/tt',
      TT_REDIS_TOKEN_URL: 'redis://:pw3@r:6379/1',
      TT_ETCD_ENDPOINTS: ['http://root:pw4@etcd:2379'],
      TT_AES_KEY_FILE: '/run/secrets/aes',
      TT_GRPC_PORT: 8200,
      conn: { aesKey: 'nested', maxFrameBytes: 1 },
      TT_UNSET_TOKEN: undefined,
    });
    const text = JSON.stringify(masked);
    for (const secret of ['1234567890123456', 'pw1', 'tok', 'x.key', '"sh"', 'pw2', 'pw3', 'pw4', 'nested']) expect(text).not.toContain(secret);
    expect(masked).toMatchObject({
      TT_AES_KEY: '***',
      TT_MYSQL_MASTER_URL: 'mysql://tt:***@db/tt',
      TT_REDIS_TOKEN_URL: 'redis://:***@r:6379/1',
      TT_AES_KEY_FILE: '/run/secrets/aes',
      TT_GRPC_PORT: 8200,
      conn: { aesKey: '***', maxFrameBytes: 1 },
    });
    expect(masked.TT_UNSET_TOKEN).toBeUndefined();
  });

  it('is what logConfig writes at start-up, with a warning in development mode', () => {
    const lines: Array<[string, object, string]> = [];
    const log = { info: (o: object, m: string) => lines.push(['info', o, m]), warn: (o: object, m: string) => lines.push(['warn', o, m]) };
    const schema = commonConfigSchema.extend({ TT_DB_URL: secret(url(), { devDefault: 'mysql://root:devpw@127.0.0.1/tt' }) });
    logConfig(log, loadConfig(schema, { service: 's', env: { TT_ENV: 'development' } }));
    expect(JSON.stringify(lines)).not.toContain('devpw');
    expect(lines[0]).toEqual(['info', { config: expect.objectContaining({ TT_DB_URL: 'mysql://root:***@127.0.0.1/tt', TT_ENV: 'development' }) }, 'configuration']);
    expect(lines[1][0]).toBe('warn');
  });

  it('masks URL passwords in configuration error messages', () => {
    const schema = commonConfigSchema.extend({ TT_DB_URL: url('mysql://x@y/z') });
    try {
      loadConfig(schema, { service: 's', env: { TT_DB_URL: 'mysql://tt:topsecret@ db/tt' } });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('TT_DB_URL');
      expect((err as Error).message).not.toContain('topsecret');
    }
  });
});
