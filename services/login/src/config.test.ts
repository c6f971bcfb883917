import { ConfigError } from '@tiertalk/config';
import { loadLoginConfig } from './config';

describe('login config', () => {
  it('has TeamTalk defaults', () => {
    const cfg = loadLoginConfig({});
    expect(cfg).toMatchObject({
      TT_HTTP_HOST: '0.0.0.0',
      TT_HTTP_PORT: 8080,
      TT_DISCOVERY_URL: 'http://127.0.0.1/api/discovery',
      TT_LEGACY_TCP_ENABLED: true,
      TT_LEGACY_TCP_PORT: 8008,
    });
    expect(cfg.TT_INSTANCE_ID).toMatch(/^login-/);
    // Unset: msfsPrior/msfsBackup come from the live msfs instances in etcd.
    expect(cfg.TT_MSFS_URL).toBeUndefined();
    expect(loadLoginConfig({ TT_MSFS_URL: 'https://files.example/' }).TT_MSFS_URL).toBe('https://files.example/');
  });

  it('can turn the legacy TCP port off', () => {
    expect(loadLoginConfig({ TT_LEGACY_TCP_ENABLED: 'false' }).TT_LEGACY_TCP_ENABLED).toBe(false);
  });

  it('reports every bad key at once', () => {
    let caught: unknown;
    try {
      loadLoginConfig({ TT_HTTP_PORT: '99999', TT_MSFS_URL: 'nope', TT_LEGACY_TCP_ENABLED: 'maybe' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect(caught instanceof ConfigError && caught.issues.map((i) => i.key).sort()).toEqual(
      ['TT_HTTP_PORT', 'TT_LEGACY_TCP_ENABLED', 'TT_MSFS_URL'],
    );
  });

  it('serves HTTPS only with both certificate files', () => {
    const cfg = loadLoginConfig({ TT_CLIENT_TLS_CERT: 'l.crt', TT_CLIENT_TLS_KEY: 'l.key' });
    expect(cfg).toMatchObject({ TT_CLIENT_TLS_CERT: 'l.crt', TT_CLIENT_TLS_KEY: 'l.key', TT_TLS_HANDSHAKE_TIMEOUT_MS: 10_000 });
    expect(() => loadLoginConfig({ TT_CLIENT_TLS_KEY: 'l.key' })).toThrow(/TT_CLIENT_TLS_CERT/);
  });
});
