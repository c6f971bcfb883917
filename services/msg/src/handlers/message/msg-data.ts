import { CID, IM, isGroupMsgType, isSingleMsgType, tiertalk } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';
import { messageEnvelope, storeIdemKey } from '@tiertalk/message-store';
import { MessageMeter } from './message-metrics';
import { sentFrom } from '../sent-from';

const { SessionType } = IM.BaseDefine;

/**
 * docs/FLOWS.md §4 / ARCHITECTURE.md "The 1:1 message path": drop what TeamTalk drops,
 * stamp sender and time, store (batched, retried until the store deadline),
 * ACK the sender only once stored — or refuse it with msg_id 0 when the store
 * was rejected or the deadline passed — then hand the numbered message to
 * route for every other connection.
 */
export async function onMsgData(ctx: GatewayContext, conn: Connection, msg: IM.Message.IMMsgData, frame: Frame): Promise<void> {
  const single = isSingleMsgType(msg.msgType);
  const group = isGroupMsgType(msg.msgType);
  if (msg.msgData.length === 0) {
    conn.log.debug({ seq: frame.seqNum }, 'empty message dropped');
    return;
  }
  if (!single && !group) {
    conn.log.debug({ seq: frame.seqNum, msgType: msg.msgType }, 'message of unknown type dropped');
    return;
  }
  // The client's own from_user_id, as TeamTalk checks it before overwriting.
  if (single && msg.fromUserId === msg.toSessionId) {
    conn.log.debug({ seq: frame.seqNum }, 'message to self dropped');
    return;
  }
  const meter = new MessageMeter(group ? 'group' : 'single');
  // Counted only when it would be forwarded, as TeamTalk does.
  if (!conn.msgRate.tryTake()) {
    meter.refused('flood_control');
    refuseRateLimited(ctx, conn, msg, frame, group, ctx.config.conn.rateLimitAnswer === 'ack0');
    return;
  }

  const from = conn.userId;
  const to = msg.toSessionId;
  const stamped: IM.Message.IMMsgData.$Properties = {
    fromUserId: from,
    toSessionId: to,
    msgId: msg.msgId,
    createTime: Math.floor(Date.now() / 1000),
    msgType: msg.msgType,
    msgData: msg.msgData,
  };
  // The same key on every retry, and for the client resending this message (same seq, receiver, content, client time).
  const stored = await ctx.db.store(stamped, storeIdemKey(stamped, frame.seqNum, msg.createTime));
  if (stored.result !== tiertalk.StoreResult.STORE_OK) {
    meter.refused(stored.result === tiertalk.StoreResult.STORE_REJECTED ? 'store_rejected' : 'store_failed');
    const answer = ctx.config.conn.rateLimitAnswer === 'ack0';
    if (answer && !conn.isClosed) sendNotStoredAck(conn, msg, frame, group);
    conn.log.info(
      { to, seq: frame.seqNum, result: tiertalk.StoreResult[stored.result], code: stored.code, reason: stored.reason, attempts: stored.attempts, answered: answer },
      answer ? 'message not stored; refused with msg_id 0' : 'message not stored; no answer (TT_RATE_LIMIT_ANSWER=silent)',
    );
    return;
  }

  const ack = IM.Message.IMMsgDataAck.encode({
    userId: from,
    sessionId: to,
    msgId: stored.msgId,
    sessionType: group ? SessionType.SESSION_TYPE_GROUP : SessionType.SESSION_TYPE_SINGLE,
  }).finish();
  // Only the origin connection, and only if it is still there.
  const sendAck = (): void => {
    if (conn.isClosed) return;
    conn.sendPdu(CID.CID_MSG_DATA_ACK, frame.seqNum, ack);
    meter.acked();
  };

  // docs/FLOWS.md §10.2 steps 3-4: a group message goes to every member (the
  // sender's other devices too) in ONE envelope; route sends each gateway
  // holding members one push with its members. The members come with the
  // store reply: no second lookup.
  if (group && (stored.memberIds?.length ?? 0) === 0) {
    conn.log.warn({ groupId: to, msgId: stored.msgId }, 'stored group message came without members; not pushed (members get it by pull)');
    sendAck();
    return;
  }
  // Encoded once, attach_data never set (docs/FLOWS.md §14 F8); route fans it out.
  const envelope = messageEnvelope(stamped, stored.msgId, stored.memberIds, sentFrom(ctx, conn));
  // The ACK leaves once a route holds the envelope (or after the route link's
  // hold wait): were this gateway killed right after ACKing, the message would
  // otherwise be stored but never pushed to its online receivers.
  ctx.route.deliver(envelope, sendAck);
}

/**
 * docs/FLOWS.md §3 rate limit (TT_MSG_RATE_PER_SEC, TeamTalk's 20/s per connection).
 * TeamTalk drops the excess silently, so the client only sees a send timeout;
 * we answer IMMsgDataAck{msg_id = 0} with the request's seq_num instead —
 * msg_id 0 is TeamTalk's own "not stored" value, the message is neither
 * stored nor delivered, and the SDK turns it into NOT_STORED — unless the
 * operator chose TeamTalk's silence (TT_RATE_LIMIT_ANSWER=silent) for clients
 * that would take an ACK with id 0 as success. The same switch governs the
 * refusal of a message that could not be stored. Counted as `msg_rate_limit`
 * and logged once per user per interval (RefusalLog).
 */
function refuseRateLimited(ctx: GatewayContext, conn: Connection, msg: IM.Message.IMMsgData, frame: Frame, group: boolean, answer: boolean): void {
  if (answer) sendNotStoredAck(conn, msg, frame, group);
  ctx.refusals.refuse('msg_rate_limit', conn.offender, { seq: frame.seqNum, to: msg.toSessionId, answered: answer ? 'ack0' : 'silent' });
}

/** IMMsgDataAck{msg_id = 0} with the request's seq_num: TeamTalk's "not stored" (rate limit, rejected, store deadline). */
function sendNotStoredAck(conn: Connection, msg: IM.Message.IMMsgData, frame: Frame, group: boolean): void {
  const ack = IM.Message.IMMsgDataAck.encode({
    userId: conn.userId,
    sessionId: msg.toSessionId,
    msgId: 0,
    sessionType: group ? SessionType.SESSION_TYPE_GROUP : SessionType.SESSION_TYPE_SINGLE,
  }).finish();
  conn.sendPdu(CID.CID_MSG_DATA_ACK, frame.seqNum, ack);
}
