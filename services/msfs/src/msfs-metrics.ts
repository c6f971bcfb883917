import { Counter, Histogram, metricsRegistry } from '@tiertalk/metrics';
import { UPLOAD_RESULTS, type UploadResult } from './answers';

const uploads = new Counter({
  name: 'tt_msfs_uploads_total',
  help: 'Uploads by result: ok, too_large, type_not_allowed, bad_form (TeamTalk format errors 2-11), rate_limited, storage_failed, aborted (client went away)',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
});
const uploadBytes = new Counter({
  name: 'tt_msfs_upload_bytes_total',
  help: 'Bytes of files stored by successful uploads',
  registers: [metricsRegistry],
});
const uploadSeconds = new Histogram({
  name: 'tt_msfs_upload_seconds',
  help: 'Time from request to stored file, successful uploads',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metricsRegistry],
});
export const DOWNLOAD_RESULTS = ['ok', 'not_found', 'bad_path', 'storage_failed', 'aborted'] as const;
export type DownloadResult = (typeof DOWNLOAD_RESULTS)[number];
const downloads = new Counter({
  name: 'tt_msfs_downloads_total',
  help: 'Downloads by result: ok, not_found (no such file), bad_path (not an msfs path), storage_failed, aborted',
  labelNames: ['result'] as const,
  registers: [metricsRegistry],
});
const downloadBytes = new Counter({
  name: 'tt_msfs_download_bytes_total',
  help: 'Bytes of files sent by downloads',
  registers: [metricsRegistry],
});
for (const result of UPLOAD_RESULTS) uploads.inc({ result }, 0);
for (const result of DOWNLOAD_RESULTS) downloads.inc({ result }, 0);

export function countUpload(result: UploadResult, bytes = 0, seconds?: number): void {
  uploads.inc({ result });
  if (bytes > 0) uploadBytes.inc(bytes);
  if (seconds !== undefined) uploadSeconds.observe(seconds);
}

export function countDownload(result: DownloadResult, bytes = 0): void {
  downloads.inc({ result });
  if (bytes > 0) downloadBytes.inc(bytes);
}
