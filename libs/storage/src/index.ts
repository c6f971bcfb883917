import type { FileStore } from './file-store';
import { LocalFileStore } from './local-store';
import { S3FileStore } from './s3-store';
import type { StorageConfig } from './storage-config';

export type { FileStore, StoredFile } from './file-store';
export { assertSafeKey } from './file-store';
export { LocalFileStore } from './local-store';
export { S3FileStore } from './s3-store';
export type { S3StoreOptions } from './s3-store';
export { storageConfigShape, storageConfigIssues } from './storage-config';
export type { StorageConfig, StorageConfigIssue } from './storage-config';

/** The store TT_MSFS_STORAGE names. */
export function createFileStore(cfg: StorageConfig): FileStore {
  if (cfg.TT_MSFS_STORAGE === 'local') return new LocalFileStore(cfg.TT_MSFS_DIR);
  return new S3FileStore({
    bucket: cfg.TT_MSFS_S3_BUCKET ?? '',
    keyPrefix: cfg.TT_MSFS_S3_KEY_PREFIX,
    region: cfg.TT_MSFS_S3_REGION,
    endpoint: cfg.TT_MSFS_S3_ENDPOINT,
    forcePathStyle: cfg.TT_MSFS_S3_FORCE_PATH_STYLE,
    credentials:
      cfg.TT_MSFS_S3_ACCESS_KEY_ID !== undefined && cfg.TT_MSFS_S3_SECRET_ACCESS_KEY !== undefined
        ? { accessKeyId: cfg.TT_MSFS_S3_ACCESS_KEY_ID, secretAccessKey: cfg.TT_MSFS_S3_SECRET_ACCESS_KEY }
        : undefined,
  });
}
