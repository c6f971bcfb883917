import { ConfigError, commonConfigSchema, intRange, loadConfig, nonEmptyString, port, positiveInt } from '@tiertalk/config';
import { storageConfigIssues, storageConfigShape } from '@tiertalk/storage';

// TeamTalk's file_server (server/src/file_server/fileserver.conf): clients on 8600, TaskTimeout=60 s.
// 8600 is the admin API's port here, so clients get 8610 unless configured.
const TEAMTALK_TASK_TIMEOUT_MS = 60_000;
/** No file larger than this, online or offline, unless configured (TeamTalk has no limit; file_size is a uint32). */
const DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024;

/** Every key the file service reads (docs/FILES.md). */
export const fileConfigSchema = commonConfigSchema.extend({
  TT_GRPC_PORT: port(8510),
  TT_FILE_HOST: nonEmptyString('0.0.0.0'),
  TT_FILE_PORT: port(8610),
  // What clients are told to dial (IpAddr in IMFileRsp / IMFileNotify / IMFileHasOfflineRsp); default: the host name.
  TT_FILE_PUBLIC_IP: nonEmptyString().optional(),
  TT_FILE_PUBLIC_PORT: intRange(0, 65535, 0),
  TT_FILE_MAX_FILE_BYTES: intRange(1, 0xffffffff, DEFAULT_MAX_FILE_BYTES),
  // A task nobody has moved for this long is dropped (its connections closed, a partial upload discarded).
  TT_FILE_TASK_TIMEOUT_MS: positiveInt(TEAMTALK_TASK_TIMEOUT_MS),
  // Largest chunk a client may ask for in one IMFilePullDataReq.
  TT_FILE_MAX_CHUNK_BYTES: intRange(1024, 4 * 1024 * 1024, 1024 * 1024),
  // Tasks in memory at once (online and offline); more are refused (IMFileRsp result 1).
  TT_FILE_MAX_TASKS: positiveInt(10_000),
  // Offline files (and msfs's images and voice) live here (libs/storage).
  ...storageConfigShape,
});

export type FileConfig = ReturnType<typeof loadFileConfig>;

/** Throws ConfigError listing every bad key; main wraps it in exitOnConfigError. */
export function loadFileConfig(env?: NodeJS.ProcessEnv) {
  const c = loadConfig(fileConfigSchema, { service: 'file', env });
  const issues = storageConfigIssues(c);
  if (issues.length > 0) throw new ConfigError('file', issues);
  return c;
}
