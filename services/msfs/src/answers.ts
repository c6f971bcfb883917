// TeamTalk msfs's JSON answers to an upload (server/src/msfs/HttpConn.cpp), kept
// byte for byte where TeamTalk had them: clients parse them, some show error_msg.

/** TeamTalk's error codes; 12.. are TierTalk's, in the same shape. */
export const UploadError = {
  TOO_LARGE: 1,
  NO_CONTENT_DISPOSITION: 2,
  NO_FILENAME: 3,
  NO_BOUNDARY: 4,
  BOUNDARY_NOT_FOUND: 5,
  PART_HEADER_INCOMPLETE: 7,
  NO_CLOSING_BOUNDARY: 8,
  EXTENSION_TOO_LONG: 9,
  NO_EXTENSION: 10,
  FILENAME_TOO_LONG: 11,
  TYPE_NOT_ALLOWED: 12,
  RATE_LIMITED: 13,
  STORAGE_FAILED: 14,
} as const;
export type UploadErrorCode = (typeof UploadError)[keyof typeof UploadError];

const FORMAT_ERROR_TEXT = '格式错误';
const TEXTS: Partial<Record<UploadErrorCode, string>> = {
  [UploadError.TOO_LARGE]: '上传文件过大',
  [UploadError.TYPE_NOT_ALLOWED]: '文件类型不允许',
  [UploadError.RATE_LIMITED]: '上传过于频繁',
  [UploadError.STORAGE_FAILED]: '存储失败',
};

/** `{"error_code":0,"error_msg": "成功","path":...,"url":...}`; TeamTalk wrote a blank after error_msg's colon. */
export function uploadOkBody(path: string, url: string): string {
  return `{"error_code":0,"error_msg": "成功","path":${JSON.stringify(path)},"url":${JSON.stringify(url)}}`;
}

/** TeamTalk's "too large" answer has no `path` key; every other error has an empty one. */
export function uploadErrorBody(code: UploadErrorCode): string {
  const text = JSON.stringify(TEXTS[code] ?? FORMAT_ERROR_TEXT);
  if (code === UploadError.TOO_LARGE) return `{"error_code":${code},"error_msg": ${text},"url":""}`;
  return `{"error_code":${code},"error_msg": ${text},"path":"","url":""}`;
}

export const UPLOAD_RESULTS = ['ok', 'too_large', 'type_not_allowed', 'rate_limited', 'storage_failed', 'bad_form', 'aborted'] as const;
export type UploadResult = (typeof UPLOAD_RESULTS)[number];

/** Metric label of an answer (a fixed set). */
export function uploadResultLabel(code: UploadErrorCode | 0): UploadResult {
  switch (code) {
    case 0:
      return 'ok';
    case UploadError.TOO_LARGE:
      return 'too_large';
    case UploadError.TYPE_NOT_ALLOWED:
      return 'type_not_allowed';
    case UploadError.RATE_LIMITED:
      return 'rate_limited';
    case UploadError.STORAGE_FAILED:
      return 'storage_failed';
    default:
      return 'bad_form';
  }
}

