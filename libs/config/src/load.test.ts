import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, bool, commonConfigSchema, csvList, exitOnConfigError, loadConfig, port, positiveInt, url } from './index';

const schema = commonConfigSchema.extend({
  TT_GRPC_PORT: port(10600),
  TT_MAX_CONN: positiveInt(1000),
  TT_REDIS_URL: url('redis://127.0.0.1:6379'),
  TT_TAGS: csvList(['a']),
  TT_DEBUG_WIRE: bool(false),
  TT_MYSQL_PASSWORD: z.string().min(8).default('changeme!'),
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tt-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function file(content: unknown): string {
    const p = join(dir, `c-${Math.random().toString(16).slice(2)}.json`);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  }

  it('applies schema defaults and a per-service instance id', () => {
    const cfg = loadConfig(schema, { env: {}, service: 'db-proxy' });
    expect(cfg.TT_ETCD_ENDPOINTS).toEqual(['http://127.0.0.1:2379']);
    expect(cfg.TT_ETCD_PREFIX).toBe('/tiertalk');
    expect(cfg.TT_LEASE_TTL_SEC).toBe(5);
    expect(cfg.TT_LOG_LEVEL).toBe('info');
    expect(cfg.TT_GRPC_HOST).toBe('127.0.0.1');
    expect(cfg.TT_GRPC_PORT).toBe(10600);
    expect(cfg.TT_DEBUG_WIRE).toBe(false);
    expect(cfg.TT_INSTANCE_ID).toBe(`db-proxy-${hostname()}-${process.pid}`);
  });

  it('coerces env strings', () => {
    const cfg = loadConfig(schema, {
      service: 'msg',
      env: {
        TT_GRPC_PORT: '0',
        TT_ETCD_ENDPOINTS: 'http://a:2379, http://b:2379,',
        TT_DEBUG_WIRE: '1',
        TT_LEASE_TTL_SEC: '2',
        TT_INSTANCE_ID: 'msg-1',
        TT_LOG_LEVEL: 'debug',
      },
    });
    expect(cfg.TT_GRPC_PORT).toBe(0);
    expect(cfg.TT_ETCD_ENDPOINTS).toEqual(['http://a:2379', 'http://b:2379']);
    expect(cfg.TT_DEBUG_WIRE).toBe(true);
    expect(cfg.TT_LEASE_TTL_SEC).toBe(2);
    expect(cfg.TT_INSTANCE_ID).toBe('msg-1');
    expect(cfg.TT_LOG_LEVEL).toBe('debug');
  });

  it('reads TT_CONFIG_FILE, and the environment overrides it', () => {
    const path = file({ TT_GRPC_PORT: 10700, TT_MAX_CONN: 50, TT_TAGS: ['x', 'y'], TT_DEBUG_WIRE: true, TT_ETCD_PREFIX: null });
    const cfg = loadConfig(schema, { service: 'db-proxy', env: { TT_CONFIG_FILE: path, TT_GRPC_PORT: '10800' } });
    expect(cfg.TT_GRPC_PORT).toBe(10800);
    expect(cfg.TT_MAX_CONN).toBe(50);
    expect(cfg.TT_TAGS).toEqual(['x', 'y']);
    expect(cfg.TT_DEBUG_WIRE).toBe(true);
    expect(cfg.TT_ETCD_PREFIX).toBe('/tiertalk');
  });

  it('treats an empty env value as unset', () => {
    expect(loadConfig(schema, { service: 's', env: { TT_GRPC_PORT: '' } }).TT_GRPC_PORT).toBe(10600);
  });

  it('reports every bad key at once, with key, value and expectation', () => {
    const err = configError(() =>
      loadConfig(schema, {
        service: 'db-proxy',
        env: {
          TT_GRPC_PORT: 'abc',
          TT_LEASE_TTL_SEC: '61',
          TT_ETCD_PREFIX: 'tiertalk',
          TT_LOG_LEVEL: 'loud',
          TT_REDIS_URL: 'not a url',
          TT_DEBUG_WIRE: 'yes',
          TT_MAX_CONN: '1.5',
          TT_MYSQL_PASSWORD: 'short',
        },
      }),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.issues.map((i) => i.key).sort()).toEqual(
      ['TT_DEBUG_WIRE', 'TT_ETCD_PREFIX', 'TT_GRPC_PORT', 'TT_LEASE_TTL_SEC', 'TT_LOG_LEVEL', 'TT_MAX_CONN', 'TT_MYSQL_PASSWORD', 'TT_REDIS_URL'].sort(),
    );
    expect(err.message).toContain('TT_GRPC_PORT: expected an integer 0..65535, got "abc"');
    expect(err.message).toContain('TT_LEASE_TTL_SEC: expected an integer 1..60, got "61"');
    expect(err.message).toContain('TT_LOG_LEVEL: expected one of fatal|error|warn|info|debug|trace|silent, got "loud"');
    expect(err.message).toContain('TT_DEBUG_WIRE: expected true, false, 1 or 0, got "yes"');
    expect(err.message).toContain('TT_MAX_CONN: expected a positive integer, got "1.5"');
    expect(err.message).toContain('TT_REDIS_URL: expected an absolute URL, got "not a url"');
    expect(err.message).toContain('TT_ETCD_PREFIX: expected a key prefix starting with "/"');
    expect(err.message).toContain('db-proxy');
    // secrets are masked even when invalid
    expect(err.message).not.toContain('short');
    expect(err.message).toContain('TT_MYSQL_PASSWORD');
  });

  it('reports a missing or broken config file together with other bad keys', () => {
    const missing = configError(() => loadConfig(schema, { service: 's', env: { TT_CONFIG_FILE: join(dir, 'nope.json'), TT_GRPC_PORT: '-1' } }));
    expect(missing.issues.map((i) => i.key).sort()).toEqual(['TT_CONFIG_FILE', 'TT_GRPC_PORT']);
    const broken = configError(() => loadConfig(schema, { service: 's', env: { TT_CONFIG_FILE: file('{"TT_GRPC_PORT":') } }));
    expect(broken.issues[0].key).toBe('TT_CONFIG_FILE');
    const notObject = configError(() => loadConfig(schema, { service: 's', env: { TT_CONFIG_FILE: file([1, 2]) } }));
    expect(notObject.issues[0].key).toBe('TT_CONFIG_FILE');
  });

  it('reports bad values coming from the file', () => {
    const err = configError(() => loadConfig(schema, { service: 's', env: { TT_CONFIG_FILE: file({ TT_GRPC_PORT: 70000, TT_TAGS: [] }) } }));
    expect(err.message).toContain('TT_GRPC_PORT: expected an integer 0..65535, got 70000');
    expect(err.message).toContain('TT_TAGS: expected a comma-separated list');
  });

  it('returns a deep-frozen object', () => {
    const cfg = loadConfig(schema, { service: 's', env: {} });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.TT_ETCD_ENDPOINTS)).toBe(true);
    expect(Reflect.set(cfg, 'TT_GRPC_PORT', 1)).toBe(false);
    expect(Reflect.set(cfg.TT_ETCD_ENDPOINTS, 0, 'x')).toBe(false);
    expect(cfg.TT_ETCD_ENDPOINTS[0]).toBe('http://127.0.0.1:2379');
  });
});

describe('exitOnConfigError', () => {
  class ExitCalled extends Error {
    constructor(readonly exitCode: string | number | null | undefined) {
      super(`exit ${exitCode}`);
    }
  }
  afterEach(() => jest.restoreAllMocks());

  it('prints the ConfigError to stderr and exits with 2', () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation((code) => {
      throw new ExitCalled(code);
    });
    const written: string[] = [];
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    expect(() => exitOnConfigError(() => loadConfig(schema, { service: 's', env: { TT_GRPC_PORT: 'x' } }))).toThrow(ExitCalled);
    expect(exit).toHaveBeenCalledWith(2);
    expect(written.join('')).toContain('TT_GRPC_PORT: expected an integer 0..65535, got "x"');
  });

  it('passes the value through, and rethrows other errors', () => {
    expect(exitOnConfigError(() => 42)).toBe(42);
    expect(() =>
      exitOnConfigError(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
  });
});
