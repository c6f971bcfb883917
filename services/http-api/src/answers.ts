// The API's answers: TeamTalk's {"error_code","error_msg"} (HttpPdu.cpp
// PackSendResult; 0 = success) so existing integrations read them, plus, on a
// failure, TierTalk's {"error":{"code","message"}} and a fitting HTTP status
// (TeamTalk answers 200 whatever happened).
import { OPS_ERRORS, type OpsError, type OpsErrorCode } from '@tiertalk/cluster-ops';

/** TeamTalk's HTTP_ERROR_CODE values (http_msg_server HttpQuery.h). */
export const TEAMTALK_CODES = {
  SUCCESS: 0,
  PARAMETER: 1,
  APPKEY: 2,
  PERMISSION: 4,
  INTERFACE: 5,
  UNKNOWN: 8,
  SERVER_EXCEPTION: 9,
  CREATE_GROUP: 10,
  CHANGE_MEMBER: 11,
} as const;

const BY_CODE: Record<OpsErrorCode, number> = {
  bad_request: TEAMTALK_CODES.PARAMETER,
  payload_too_large: TEAMTALK_CODES.PARAMETER,
  unauthorized: TEAMTALK_CODES.APPKEY,
  // An id the API may not send to or as: TeamTalk's "contains ids not allowed".
  not_found: TEAMTALK_CODES.PERMISSION,
  refused: TEAMTALK_CODES.PERMISSION,
  conflict: TEAMTALK_CODES.PERMISSION,
  method_not_allowed: TEAMTALK_CODES.INTERFACE,
  rate_limited: TEAMTALK_CODES.UNKNOWN,
  unavailable: TEAMTALK_CODES.SERVER_EXCEPTION,
  internal: TEAMTALK_CODES.SERVER_EXCEPTION,
};

export interface Answer {
  status: number;
  payload: Record<string, unknown>;
}

export function ok(fields: Record<string, unknown>): Answer {
  return { status: 200, payload: { error_code: TEAMTALK_CODES.SUCCESS, error_msg: 'ok', ...fields } };
}

/**
 * `refusedCode`: the TeamTalk code of a refusal on this path (CreateGroup 10,
 * ChangeMembers 11); `unknownPath`: a 404 for the path itself (TeamTalk's
 * "interface not allowed", 5), not for an id in the body.
 */
export function failure(e: OpsError, refusedCode?: number, unknownPath = false): Answer {
  let teamtalk = BY_CODE[e.code];
  if (e.code === 'refused' && refusedCode !== undefined) teamtalk = refusedCode;
  if (e.code === 'not_found' && unknownPath) teamtalk = TEAMTALK_CODES.INTERFACE;
  return { status: OPS_ERRORS[e.code].http, payload: { error_code: teamtalk, error_msg: e.message, error: { code: e.code, message: e.message } } };
}
