import { ConfigError } from '@tiertalk/config';
import { loadMsfsConfig } from './config';

describe('msfs config', () => {
  it('defaults to TeamTalk msfs: port 8700, 10 MiB, local storage', () => {
    const c = loadMsfsConfig({});
    expect([c.TT_MSFS_HTTP_PORT, c.TT_MSFS_MAX_FILE_BYTES, c.TT_MSFS_STORAGE, c.TT_MSFS_UPLOADS_PER_MINUTE]).toEqual([8700, 10 * 1024 * 1024, 'local', 60]);
    expect(c.TT_MSFS_ALLOWED_TYPES).toContain('image/jpeg');
  });

  it('lets any page upload by default, or the origins listed', () => {
    expect(loadMsfsConfig({}).TT_MSFS_CORS_ORIGINS).toEqual(['*']);
    expect(loadMsfsConfig({ TT_MSFS_CORS_ORIGINS: 'https://chat.example.com, http://127.0.0.1:8090' }).TT_MSFS_CORS_ORIGINS).toEqual(['https://chat.example.com', 'http://127.0.0.1:8090']);
    for (const bad of ['https://chat.example.com/', 'chat.example.com', 'https://chat.example.com:443', 'ftp://x']) {
      expect(() => loadMsfsConfig({ TT_MSFS_CORS_ORIGINS: bad })).toThrow(ConfigError);
    }
  });

  it('needs a bucket for s3 and both halves of static credentials', () => {
    expect(() => loadMsfsConfig({ TT_MSFS_STORAGE: 's3', TT_MSFS_S3_ACCESS_KEY_ID: 'a' })).toThrow(ConfigError);
    try {
      loadMsfsConfig({ TT_MSFS_STORAGE: 's3', TT_MSFS_S3_ACCESS_KEY_ID: 'a' });
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.key).sort()).toEqual(['TT_MSFS_S3_ACCESS_KEY_ID', 'TT_MSFS_S3_BUCKET']);
    }
  });

  it('reports every bad key', () => {
    try {
      loadMsfsConfig({ TT_MSFS_STORAGE: 'ftp', TT_MSFS_MAX_FILE_BYTES: '0', TT_MSFS_S3_KEY_PREFIX: 'files/../' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.key).sort()).toEqual(['TT_MSFS_MAX_FILE_BYTES', 'TT_MSFS_S3_KEY_PREFIX', 'TT_MSFS_STORAGE']);
    }
  });
});
