import { ConfigError } from '@tiertalk/config';
import { loadFileConfig } from './config';

describe('file server configuration', () => {
  it('defaults: clients on 8610, gRPC 8510, TeamTalk\'s 60 s task timeout, 512 MiB files, local storage shared with msfs', () => {
    const c = loadFileConfig({ TT_INSTANCE_ID: 'file-test' });
    expect([c.TT_FILE_HOST, c.TT_FILE_PORT, c.TT_GRPC_PORT, c.TT_FILE_TASK_TIMEOUT_MS, c.TT_FILE_MAX_FILE_BYTES, c.TT_MSFS_STORAGE, c.TT_MSFS_DIR, c.TT_FILE_PUBLIC_PORT]).toEqual([
      '0.0.0.0', 8610, 8510, 60_000, 512 * 1024 * 1024, 'local', 'msfs-data', 0,
    ]);
  });

  it('refuses s3 storage without a bucket and a size limit past uint32, naming the keys', () => {
    let err: unknown;
    try {
      loadFileConfig({ TT_MSFS_STORAGE: 's3' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toContain('TT_MSFS_S3_BUCKET');
    expect(() => loadFileConfig({ TT_FILE_MAX_FILE_BYTES: String(2 ** 32) })).toThrow('TT_FILE_MAX_FILE_BYTES');
  });
});
