// One catalogue of the errors of the cluster's operator tools (admin CLI and API, http-api; style.md: fastify's lib/errors.js):
// each has a stable code that the CLI prints, the HTTP API answers as
// {"error":{"code","message"}}, and callers match, never the message.
import * as grpc from '@grpc/grpc-js';
import { ERROR_CATALOGUE, NoInstanceError, errorCode, errorCodeOf, type ErrorCodeName } from '@tiertalk/rpc';

export const OPS_ERRORS = {
  bad_request: { http: 400, exit: 2 },
  unauthorized: { http: 401, exit: 2 },
  not_found: { http: 404, exit: 1 },
  method_not_allowed: { http: 405, exit: 2 },
  conflict: { http: 409, exit: 1 },
  refused: { http: 409, exit: 1 },
  payload_too_large: { http: 413, exit: 2 },
  rate_limited: { http: 429, exit: 3 },
  unavailable: { http: 503, exit: 3 },
  internal: { http: 500, exit: 3 },
} as const;

export type OpsErrorCode = keyof typeof OPS_ERRORS;

export class OpsError extends Error {
  override readonly name = 'OpsError';
  constructor(
    readonly code: OpsErrorCode,
    message: string,
  ) {
    super(message);
  }

  get httpStatus(): number {
    return OPS_ERRORS[this.code].http;
  }

  get exitCode(): number {
    return OPS_ERRORS[this.code].exit;
  }
}

/** Each server error code's answer here; its HTTP status is the catalogue's (errors.test.ts checks). */
export const OPS_ERROR_OF_CODE: Record<ErrorCodeName, OpsErrorCode> = {
  request_invalid: 'bad_request',
  request_forbidden: 'refused',
  not_found: 'not_found',
  already_exists: 'conflict',
  db_busy: 'unavailable',
  registry_unavailable: 'unavailable',
  internal: 'internal',
  message_invalid: 'refused',
  message_audio_too_large: 'refused',
  message_unknown_receiver: 'not_found',
  message_unknown_group: 'not_found',
  message_not_member: 'refused',
  message_muted: 'refused',
  message_storage_failed: 'unavailable',
};

/** Errors without a catalogue code (transport failures, deadlines): by their gRPC status. */
const BY_GRPC_STATUS: Partial<Record<grpc.status, OpsErrorCode>> = {
  [grpc.status.INVALID_ARGUMENT]: 'bad_request',
  [grpc.status.NOT_FOUND]: 'not_found',
  [grpc.status.ALREADY_EXISTS]: 'conflict',
  [grpc.status.FAILED_PRECONDITION]: 'refused',
  [grpc.status.PERMISSION_DENIED]: 'refused',
  [grpc.status.UNAVAILABLE]: 'unavailable',
  [grpc.status.DEADLINE_EXCEEDED]: 'unavailable',
  [grpc.status.RESOURCE_EXHAUSTED]: 'unavailable',
  [grpc.status.UNAUTHENTICATED]: 'unavailable',
};

/** Any failure as an OpsError: db-proxy's and route's answers by their catalogue code, else their gRPC status (details are their message). */
export function toOpsError(err: unknown): OpsError {
  if (err instanceof OpsError) return err;
  if (err instanceof NoInstanceError) return new OpsError('unavailable', `no ${err.service} instance registered in etcd`);
  const details = typeof err === 'object' && err !== null && 'details' in err && typeof err.details === 'string' ? err.details : undefined;
  const known = errorCodeOf(err);
  // internal keeps the whole message (status and details), as before the catalogue.
  if (known !== undefined && OPS_ERROR_OF_CODE[known] !== 'internal') return new OpsError(OPS_ERROR_OF_CODE[known], details ?? ERROR_CATALOGUE[known].meaning);
  const code = BY_GRPC_STATUS[errorCode(err)];
  if (code !== undefined) return new OpsError(code, details ?? (err instanceof Error ? err.message : String(err)));
  return new OpsError('internal', err instanceof Error ? err.message : String(err));
}
