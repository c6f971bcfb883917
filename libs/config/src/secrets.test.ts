import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, commonConfigSchema, loadConfig, refuseWellKnown, requireUrlPassword, secret, url } from './index';

const PUBLISHED_KEY = '12345678901234567890123456789012';
const schema = commonConfigSchema.extend({
  TT_DB_URL: secret(url(), { devDefault: 'mysql://root@127.0.0.1:3306/tt', refuseInProduction: requireUrlPassword }),
  TT_CACHE_URL: secret(url(), { devDefault: 'redis://127.0.0.1:6379/1' }),
  TT_CONTENT_KEY: secret(z.string().length(32), { devDefault: PUBLISHED_KEY, refuseInProduction: refuseWellKnown([PUBLISHED_KEY], 'the published key') }),
  TT_OPTIONAL_KEY: secret(z.string().optional(), { refuseInProduction: refuseWellKnown([PUBLISHED_KEY], 'the published key') }),
});
const GOOD = { TT_DB_URL: 'mysql://tt:s3cret@db:3306/tt', TT_CACHE_URL: 'redis://cache:6379/1', TT_CONTENT_KEY: 'k'.repeat(32) };

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(schema, { service: 'svc', env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('production mode (the default)', () => {
  it('has no built-in secret: start-up fails naming each missing setting once', () => {
    const err = configError({});
    expect(err.issues.map((i) => i.key).sort()).toEqual(['TT_CACHE_URL', 'TT_CONTENT_KEY', 'TT_DB_URL']);
    expect(err.message).toContain('TT_CONTENT_KEY: required in production (TT_ENV=production has no built-in default); set TT_CONTENT_KEY or TT_CONTENT_KEY_FILE');
    expect(err.message).not.toContain('expected an absolute URL');
  });

  it('refuses the published key and a database URL without password, even when set explicitly', () => {
    const err = configError({ ...GOOD, TT_ENV: 'production', TT_CONTENT_KEY: PUBLISHED_KEY, TT_OPTIONAL_KEY: PUBLISHED_KEY, TT_DB_URL: 'mysql://root@db:3306/tt' });
    expect(err.issues.map((i) => i.key).sort()).toEqual(['TT_CONTENT_KEY', 'TT_DB_URL', 'TT_OPTIONAL_KEY']);
    expect(err.message).toContain('TT_CONTENT_KEY: refused in production: the published key is published and protects nothing');
    expect(err.message).toContain('TT_DB_URL: refused in production: has no password');
    expect(err.message).not.toContain(PUBLISHED_KEY);
  });

  it('treats anything but "development" as production', () => {
    expect(configError({ TT_ENV: 'dev' }).issues.map((i) => i.key)).toEqual(expect.arrayContaining(['TT_ENV', 'TT_DB_URL']));
  });

  it('starts with every secret set', () => {
    const cfg = loadConfig(schema, { service: 'svc', env: GOOD });
    expect(cfg.TT_ENV).toBe('production');
    expect(cfg.TT_CONTENT_KEY).toBe('k'.repeat(32));
    expect(cfg.TT_OPTIONAL_KEY).toBeUndefined();
  });
});

describe('development mode', () => {
  it('fills in the development defaults and accepts the published key', () => {
    const cfg = loadConfig(schema, { service: 'svc', env: { TT_ENV: 'development' } });
    expect(cfg.TT_DB_URL).toBe('mysql://root@127.0.0.1:3306/tt');
    expect(cfg.TT_CONTENT_KEY).toBe(PUBLISHED_KEY);
    expect(loadConfig(schema, { service: 'svc', env: { TT_ENV: 'development', TT_OPTIONAL_KEY: PUBLISHED_KEY } }).TT_OPTIONAL_KEY).toBe(PUBLISHED_KEY);
  });
});

describe('<KEY>_FILE', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tt-secret-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };

  it('reads a secret from a file, dropping the trailing newline', () => {
    const cfg = loadConfig(schema, {
      service: 'svc',
      env: { ...GOOD, TT_CONTENT_KEY: undefined, TT_CONTENT_KEY_FILE: file('key', `${'f'.repeat(32)}\n`), TT_DB_URL: undefined, TT_DB_URL_FILE: file('db', 'mysql://tt:pw@db/tt\r\n') },
    });
    expect(cfg.TT_CONTENT_KEY).toBe('f'.repeat(32));
    expect(cfg.TT_DB_URL).toBe('mysql://tt:pw@db/tt');
  });

  it('also works from TT_CONFIG_FILE, and for non-secret keys', () => {
    const cfgFile = file('c.json', JSON.stringify({ TT_LOG_LEVEL_FILE: file('level', 'debug') }));
    expect(loadConfig(schema, { service: 'svc', env: { ...GOOD, TT_CONFIG_FILE: cfgFile } }).TT_LOG_LEVEL).toBe('debug');
  });

  it('reports both set, a missing file and an empty file', () => {
    const err = configError({
      ...GOOD,
      TT_CONTENT_KEY_FILE: file('k2', 'x'.repeat(32)),
      TT_DB_URL: undefined,
      TT_DB_URL_FILE: join(dir, 'nope'),
      TT_CACHE_URL: undefined,
      TT_CACHE_URL_FILE: file('empty', '\n'),
    });
    expect(err.message).toContain('TT_CONTENT_KEY_FILE: expected either TT_CONTENT_KEY or TT_CONTENT_KEY_FILE, not both');
    expect(err.message).toMatch(/TT_DB_URL_FILE: expected a readable file holding TT_DB_URL \(ENOENT/);
    expect(err.message).toContain('TT_CACHE_URL_FILE: expected a file holding TT_CACHE_URL, but it is empty');
    // each problem once: not also "TT_DB_URL required"
    expect(err.issues.map((i) => i.key).sort()).toEqual(['TT_CACHE_URL_FILE', 'TT_CONTENT_KEY_FILE', 'TT_DB_URL_FILE']);
  });

  it('ignores _FILE keys that are not settings of this service', () => {
    expect(() => loadConfig(schema, { service: 'svc', env: { ...GOOD, TT_OTHER_FILE: '/nonexistent' } })).not.toThrow();
  });
});
