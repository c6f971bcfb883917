// The cluster's one catalogue of server-side errors (docs/ERRORS.md lists it for users).
// A server throws a CatalogueError; the unary adapter (unary-handler.ts) answers
// it with the code's gRPC status and the code itself in trailing metadata;
// callers read the code back with errorCodeOf() and match it, never the message.
import * as grpc from '@grpc/grpc-js';
import { ERROR_CODE_KEY, errorCode, isServiceError, rpcError } from './status';

export { ERROR_CODE_KEY };

/** What one code means and how each kind of caller sees it. */
export interface ErrorSpec {
  /** One line for users of the gRPC API. */
  readonly meaning: string;
  /** The status a unary call answers with (for per-item codes: the status a caller raises for them). */
  readonly grpc: grpc.status;
  /** What a TeamTalk client sees (it has no error replies for most requests). */
  readonly client: string;
  /** IM.BaseDefine.ResultType a login is refused with, where a client sees one. */
  readonly resultCode?: number;
  /** http-api's and admin's answer (libs/cluster-ops OPS_ERRORS code and its HTTP status). */
  readonly http: number;
}

// IM.BaseDefine.ResultType (proto/IM.BaseDefine.proto); libs/rpc does not depend on the generated code.
const REFUSE_REASON_NO_DB_SERVER = 3;
const REFUSE_REASON_NO_ROUTE_SERVER = 5;

export const ERROR_CATALOGUE = {
  request_invalid: {
    meaning: 'The request is malformed: a bad id, an unknown enum value, too many items, a field out of range.',
    grpc: grpc.status.INVALID_ARGUMENT,
    client: 'no answer (the request times out)',
    http: 400,
  },
  request_forbidden: {
    meaning: "The request touches data its user may not see or change (another user's session or message).",
    grpc: grpc.status.PERMISSION_DENIED,
    client: 'no answer (the request times out)',
    http: 409,
  },
  not_found: {
    meaning: 'The named user or department does not exist (DbAdmin).',
    grpc: grpc.status.NOT_FOUND,
    client: 'not seen by clients',
    http: 404,
  },
  already_exists: {
    meaning: 'A user or department with that name already exists (DbAdmin).',
    grpc: grpc.status.ALREADY_EXISTS,
    client: 'not seen by clients',
    http: 409,
  },
  db_busy: {
    meaning: "db-proxy's MySQL pool queue is full; try again shortly.",
    grpc: grpc.status.RESOURCE_EXHAUSTED,
    client: 'no answer (the request times out); a login is refused with REFUSE_REASON_NO_DB_SERVER',
    resultCode: REFUSE_REASON_NO_DB_SERVER,
    http: 503,
  },
  registry_unavailable: {
    meaning: "route cannot reach its session registry (Redis); safe to retry, on another instance too.",
    grpc: grpc.status.UNAVAILABLE,
    client: 'a login is refused with REFUSE_REASON_NO_ROUTE_SERVER; other requests time out',
    resultCode: REFUSE_REASON_NO_ROUTE_SERVER,
    http: 503,
  },
  internal: {
    meaning: 'An unexpected failure; the server logged it and counted it in tt_rpc_internal_errors_total.',
    grpc: grpc.status.INTERNAL,
    client: 'no answer (the request times out); a login is refused with REFUSE_REASON_NO_DB_SERVER',
    resultCode: REFUSE_REASON_NO_DB_SERVER,
    http: 500,
  },
  message_invalid: {
    meaning: 'Message store: the message is malformed (empty, to oneself, of an unknown type, not UTF-8, too long, or its idempotency key is). Never retried.',
    grpc: grpc.status.INVALID_ARGUMENT,
    client: 'IMMsgDataAck with msg_id 0 (TT_RATE_LIMIT_ANSWER=ack0) or no answer',
    http: 409,
  },
  message_audio_too_large: {
    meaning: 'Message store: an audio message larger than db-proxy stores. Never retried.',
    grpc: grpc.status.INVALID_ARGUMENT,
    client: 'IMMsgDataAck with msg_id 0 (TT_RATE_LIMIT_ANSWER=ack0) or no answer',
    http: 409,
  },
  message_unknown_receiver: {
    meaning: 'Message store: the 1:1 receiver is not a user. Never retried.',
    grpc: grpc.status.NOT_FOUND,
    client: 'IMMsgDataAck with msg_id 0 (TT_RATE_LIMIT_ANSWER=ack0) or no answer',
    http: 404,
  },
  message_unknown_group: {
    meaning: 'Message store: the group does not exist or was dismissed. Never retried.',
    grpc: grpc.status.NOT_FOUND,
    client: 'IMMsgDataAck with msg_id 0 (TT_RATE_LIMIT_ANSWER=ack0) or no answer',
    http: 404,
  },
  message_not_member: {
    meaning: 'Message store: the sender is not a member of the group. Never retried.',
    grpc: grpc.status.PERMISSION_DENIED,
    client: 'IMMsgDataAck with msg_id 0 (TT_RATE_LIMIT_ANSWER=ack0) or no answer',
    http: 409,
  },
  message_muted: {
    meaning: 'Message store: the sender, or the whole group, is muted. Never retried.',
    grpc: grpc.status.PERMISSION_DENIED,
    client: 'IMMsgDataAck with msg_id 0 (TT_RATE_LIMIT_ANSWER=ack0) or no answer',
    http: 409,
  },
  message_storage_failed: {
    meaning: 'Message store: MySQL or Redis failed; the message was not stored. The gateway retries until its store deadline.',
    grpc: grpc.status.UNAVAILABLE,
    client: 'IMMsgDataAck with msg_id 0 (TT_RATE_LIMIT_ANSWER=ack0) or no answer, once the store deadline passed',
    http: 503,
  },
} as const satisfies Record<string, ErrorSpec>;

/** A stable code: its name never changes once released (callers match it). */
export type ErrorCodeName = keyof typeof ERROR_CATALOGUE;


export function isErrorCodeName(v: unknown): v is ErrorCodeName {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, v);
}

/** An error of the catalogue, thrown by handlers; the message is for humans (logs, operator output). */
export class CatalogueError extends Error {
  override readonly name = 'CatalogueError';
  constructor(
    readonly code: ErrorCodeName,
    message: string = ERROR_CATALOGUE[code].meaning,
  ) {
    super(message);
  }

  get grpcStatus(): grpc.status {
    return ERROR_CATALOGUE[this.code].grpc;
  }

  /** The gRPC answer: the code's status, the message as details, the code in metadata. */
  toServiceError(): grpc.ServiceError {
    const err = rpcError(this.grpcStatus, this.message);
    err.metadata.set(ERROR_CODE_KEY, this.code);
    return err;
  }
}

/**
 * The catalogue code of any error: a CatalogueError thrown here, or a gRPC
 * answer carrying the code in its metadata. Undefined for anything else
 * (transport failures, deadlines, errors of other servers): match those by
 * their gRPC status (errorCode).
 */
export function errorCodeOf(err: unknown): ErrorCodeName | undefined {
  if (err instanceof CatalogueError) return err.code;
  if (!isServiceError(err) || !err.metadata) return undefined;
  const [value] = err.metadata.get(ERROR_CODE_KEY);
  return isErrorCodeName(value) ? value : undefined;
}

/**
 * The error a caller re-throws for a code it received in a per-item result
 * (store and batched streams carry codes, not statuses): a ServiceError like
 * the one a unary call would have answered.
 */
export function serviceErrorOf(code: ErrorCodeName, message?: string): grpc.ServiceError {
  return new CatalogueError(code, message).toServiceError();
}

/** The gRPC status an error stands for: its catalogue code's if it has one. */
export function statusOf(err: unknown): grpc.status {
  const code = errorCodeOf(err);
  return code === undefined ? errorCode(err) : ERROR_CATALOGUE[code].grpc;
}
