import { z } from 'zod';
import { isCorsOrigin } from './cors';
import { ConfigError, commonConfigSchema, csvList, intRange, loadConfig, nonEmptyString, port, positiveInt, url } from '@tiertalk/config';
import { storageConfigIssues, storageConfigShape } from '@tiertalk/storage';

// TeamTalk's msfs (server/src/msfs): HTTP on 8700, uploads up to 10 MiB (HTTP_UPLOAD_MAX), idle connections closed after 30 s.
const TEAMTALK_MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** What TeamTalk clients send: chat images and voice messages. */
export const DEFAULT_ALLOWED_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/bmp', 'image/webp', 'audio/amr', 'audio/ogg', 'audio/speex', 'audio/mpeg', 'audio/aac', 'audio/wav'] as const;

/** Every key the msfs service reads (docs/MSFS.md). */
export const msfsConfigSchema = commonConfigSchema.extend({
  TT_MSFS_HTTP_HOST: nonEmptyString('0.0.0.0'),
  TT_MSFS_HTTP_PORT: port(8700),
  // Published in etcd (login hands it out as msfsPrior/msfsBackup) and used in upload answers; default http://<host>:<port>/.
  TT_MSFS_PUBLIC_URL: url().optional(),
  TT_MSFS_MAX_FILE_BYTES: positiveInt(TEAMTALK_MAX_UPLOAD_BYTES),
  TT_MSFS_ALLOWED_TYPES: csvList(DEFAULT_ALLOWED_TYPES),
  // Per client address (IPv4, or an IPv6 /64); 0 = no limit, as in TeamTalk.
  TT_MSFS_UPLOADS_PER_MINUTE: intRange(0, 1_000_000, 60),
  TT_MSFS_IDLE_TIMEOUT_MS: positiveInt(30_000),
  // Pages that may upload from a browser (the web client on login's web port is another origin).
  // "*" by default: msfs takes no credentials and any HTTP client may upload anyway (docs/MSFS.md "Browsers").
  TT_MSFS_CORS_ORIGINS: csvList(['*']).refine((list) => list.every(isCorsOrigin), {
    error: 'expected "*" or origins such as https://chat.example.com,http://127.0.0.1:8090 (scheme://host[:port], no path, no default port)',
  }),
  // Where files are kept: shared with the file server (libs/storage).
  ...storageConfigShape,
});

export type MsfsConfig = ReturnType<typeof loadMsfsConfig>;

/** Throws ConfigError listing every bad key; main wraps it in exitOnConfigError. */
export function loadMsfsConfig(env?: NodeJS.ProcessEnv) {
  const c = loadConfig(msfsConfigSchema, { service: 'msfs', env });
  const issues = storageConfigIssues(c);
  if (issues.length > 0) throw new ConfigError('msfs', issues);
  return c;
}
