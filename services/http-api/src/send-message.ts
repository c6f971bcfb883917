// POST /query/SendMessage: a text message from a user or from the system,
// stored and delivered exactly as a gateway stores and delivers a client's
// (services/msg handlers/message/msg-data.ts): StoreMessages through the shared
// StoreLink (same batching, failover and idempotency), then one Envelope of
// CID_MSG_DATA through route, so online receivers (and the sender's own
// sessions) get the IMMsgData push and offline ones find it in unread/history.
import { createHash, randomUUID } from 'node:crypto';
import { IM, encryptContent, tiertalk } from '@tiertalk/proto';
import { OpsError, type OpsLink } from '@tiertalk/cluster-ops';
import { messageEnvelope, type StoreLink, type StoreOutcome } from '@tiertalk/message-store';
import type { Logger } from '@tiertalk/log';
import type { z } from 'zod';
import type { sendMessageBody } from './bodies';
import { countMessage } from './api-metrics';
import type { Users } from './users';

const { MSG_TYPE_GROUP_TEXT } = IM.BaseDefine.MsgType;
/** IMMessage_<n>.content is varchar(4096): what is stored is the encrypted text (base64), about 4/3 of the plain UTF-8. */
export const STORED_CONTENT_MAX = 4096;
const { STORE_OK, STORE_REJECTED } = tiertalk.StoreResult;

export interface SendDeps {
  link: OpsLink;
  store: StoreLink;
  users: Users;
  aesKey: string;
  log: Logger;
}

export interface SentMessage {
  msg_id: number;
  from_user_id: number;
  to_session_id: number;
  msg_type: number;
  create_time: number;
  /** Route took the push (false: stored, but online receivers see it only when they next sync). */
  delivered: boolean;
}

/**
 * The store's idempotency key for a caller's key: the same for every retry of
 * the request, so db-proxy answers a retry with the first message's id
 * (scoped by sender, within TT_STORE_DEDUPE_WINDOW_SEC). Without a caller key
 * every request is a new message.
 */
export function apiIdemKey(callerKey: string | undefined): string {
  if (callerKey === undefined) return `api-${randomUUID()}`;
  return `api:${createHash('sha256').update(callerKey, 'utf8').digest('hex').slice(0, 40)}`;
}

/** db-proxy's refusals as the API's errors, by catalogue code (docs/ERRORS.md); `systemId` when the system sent it. */
function refusal({ code, reason }: StoreOutcome, to: number, group: boolean, systemId: number | undefined): OpsError {
  if (code === 'message_unknown_receiver') return new OpsError('not_found', `no user with user id ${to}`);
  if (code === 'message_unknown_group') return new OpsError('not_found', `no group with id ${to} (unknown or dismissed)`);
  if (code === 'message_not_member' && systemId !== undefined) {
    return new OpsError('refused', `group message refused: the system sender (user ${systemId}) is not a member of group ${to}; add it with /query/ChangeMembers, or create groups with req_user_id 0`);
  }
  return new OpsError('refused', `${group ? 'group' : '1:1'} message refused: ${reason ?? 'rejected'}`);
}

export async function sendMessage(deps: SendDeps, body: z.infer<typeof sendMessageBody>, headerKey: string | undefined): Promise<SentMessage> {
  const group = body.msg_type === MSG_TYPE_GROUP_TEXT;
  const to = body.to_session_id ?? body.to_user_id ?? 0;
  const from = body.from_user_id === 0 ? await deps.users.system() : await deps.users.activeSender(body.from_user_id);
  if (!group) {
    if (to === from) throw new OpsError('bad_request', 'to_session_id: a 1:1 message to the sender itself');
    await deps.users.known(to, 'receiver');
  }
  // What a TeamTalk client puts in msg_data (docs/PROTOCOL.md §5), so stock clients show the text.
  const msgData = encryptContent(body.msg_data, deps.aesKey);
  if (msgData.length > STORED_CONTENT_MAX) {
    throw new OpsError('bad_request', `msg_data: too long: ${Buffer.byteLength(body.msg_data, 'utf8')} bytes of UTF-8 are ${msgData.length} characters once encrypted, the store keeps ${STORED_CONTENT_MAX} (about 3000 bytes of text)`);
  }
  const stamped: IM.Message.IMMsgData.$Properties = {
    fromUserId: from,
    toSessionId: to,
    msgId: 0,
    createTime: Math.floor(Date.now() / 1000),
    msgType: body.msg_type,
    msgData,
  };
  const kind = group ? 'group' : 'single';
  const stored = await deps.store.store(stamped, apiIdemKey(body.idempotency_key ?? headerKey));
  if (stored.result !== STORE_OK) {
    countMessage(kind, stored.result === STORE_REJECTED ? 'refused' : 'not_stored');
    if (stored.result === STORE_REJECTED) throw refusal(stored, to, group, body.from_user_id === 0 ? from : undefined);
    throw new OpsError('unavailable', `the message was not stored: ${stored.reason ?? 'db-proxy unavailable'}`);
  }
  const envelope = messageEnvelope(stamped, stored.msgId, stored.memberIds);
  let delivered = true;
  try {
    if ((envelope.toUserIds?.length ?? 0) > 0) await deps.link.deliver([envelope]);
  } catch (err) {
    // Stored is what the caller asked for; receivers get it from unread/history.
    delivered = false;
    deps.log.warn({ err, msgId: stored.msgId, to, group }, 'message stored but route did not take the push');
  }
  countMessage(kind, delivered ? 'sent' : 'stored_not_pushed');
  return { msg_id: stored.msgId, from_user_id: from, to_session_id: to, msg_type: body.msg_type, create_time: stamped.createTime ?? 0, delivered };
}
