import { IM } from '@tiertalk/proto';
import { RequestError } from '../../unary';

const { SESSION_TYPE_SINGLE, SESSION_TYPE_GROUP } = IM.BaseDefine.SessionType;

export type SessionKind = 'single' | 'group';

/**
 * Access rule of every offline read and session command: db-proxy answers only
 * for `user_id`, which the gateway sets from the authenticated connection, and
 * only about (user_id, session_id) — the user's own conversation with that
 * peer or group. So nobody can name another pair's conversation; what is left
 * to refuse is a request that names no session at all. Refusals are
 * INVALID_ARGUMENT (logged by unary(); the client gets no reply, as TeamTalk
 * sends none for an invalid session type, docs/FLOWS.md §7.2).
 */
export function checkSession(userId: number, sessionType: number, sessionId: number): SessionKind {
  checkUser(userId);
  if (sessionType !== SESSION_TYPE_SINGLE && sessionType !== SESSION_TYPE_GROUP) {
    throw new RequestError('request_invalid', `user ${userId}: invalid session type ${sessionType}`);
  }
  if (!Number.isSafeInteger(sessionId) || sessionId <= 0) throw new RequestError('request_invalid', `user ${userId}: session id ${sessionId}`);
  if (sessionType === SESSION_TYPE_SINGLE && sessionId === userId) {
    throw new RequestError('request_invalid', `user ${userId}: a conversation with oneself`);
  }
  return sessionType === SESSION_TYPE_SINGLE ? 'single' : 'group';
}

/** A request without an authenticated user (only a misbehaving caller of db-proxy sends one). */
export function checkUser(userId: number): void {
  if (!Number.isSafeInteger(userId) || userId <= 0) throw new RequestError('request_invalid', `no user (user_id ${userId})`);
}
