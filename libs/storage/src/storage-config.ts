import { z } from 'zod';
import { bool, nonEmptyString, url } from '@tiertalk/config';

/**
 * The storage keys msfs introduced (docs/MSFS.md): the file server reads the
 * same ones, so one setting puts images, voice and offline files on one
 * backend (a directory, or one S3 bucket).
 */
export const storageConfigShape = {
  TT_MSFS_STORAGE: z.enum(['local', 's3'], { error: 'expected local or s3' }).default('local'),
  TT_MSFS_DIR: nonEmptyString('msfs-data'),
  TT_MSFS_S3_BUCKET: nonEmptyString().optional(),
  // Unset = AWS itself; set for any S3-compatible store (MinIO, Ceph, ...).
  TT_MSFS_S3_ENDPOINT: url().optional(),
  TT_MSFS_S3_REGION: nonEmptyString('us-east-1'),
  TT_MSFS_S3_FORCE_PATH_STYLE: bool(false),
  TT_MSFS_S3_KEY_PREFIX: z
    .string({ error: 'expected a key prefix' })
    .regex(/^([A-Za-z0-9!_.*'()-]+\/)*$/, { error: 'expected empty or a key prefix ending with "/"' })
    .refine((s) => !s.split('/').some((part) => part === '.' || part === '..'), { error: 'expected a key prefix without "." or ".." segments' })
    .default(''),
  // Unset = the AWS SDK's default credential chain (environment, instance role, ...).
  TT_MSFS_S3_ACCESS_KEY_ID: nonEmptyString().optional(),
  TT_MSFS_S3_SECRET_ACCESS_KEY: nonEmptyString().optional(),
};

const storageSchema = z.object(storageConfigShape);
export type StorageConfig = z.infer<typeof storageSchema>;

export interface StorageConfigIssue {
  key: string;
  message: string;
  value: undefined;
}

/** Combinations the schema cannot express; the caller throws ConfigError with them. */
export function storageConfigIssues(c: StorageConfig): StorageConfigIssue[] {
  const issues: StorageConfigIssue[] = [];
  if (c.TT_MSFS_STORAGE === 's3' && c.TT_MSFS_S3_BUCKET === undefined) {
    issues.push({ key: 'TT_MSFS_S3_BUCKET', message: 'expected a bucket name with TT_MSFS_STORAGE=s3', value: undefined });
  }
  if ((c.TT_MSFS_S3_ACCESS_KEY_ID === undefined) !== (c.TT_MSFS_S3_SECRET_ACCESS_KEY === undefined)) {
    issues.push({ key: 'TT_MSFS_S3_ACCESS_KEY_ID', message: 'expected together with TT_MSFS_S3_SECRET_ACCESS_KEY', value: undefined });
  }
  return issues;
}
