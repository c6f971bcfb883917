import { CID, IM, isGroupMsgType, tiertalk } from '@tiertalk/proto';

const { MESSAGE_KIND_SINGLE, MESSAGE_KIND_GROUP } = tiertalk.MessageKind;

/**
 * The envelope that hands a stored message (`msg` as stamped by the sender's
 * gateway or the HTTP API, `msgId` as db-proxy numbered it) to route (docs/ARCHITECTURE.md,
 * "The 1:1 message path" step 5). The body is encoded once, with db-proxy's
 * msg_id; kind and ids ride beside it so route and the receiving gateways
 * never decode it. Receivers: 1:1 the peer and the sender (the sender's other
 * devices), group every member at store time (MsgStoredItem.member_ids).
 * `origin`: the sending connection, where there is one (the gateway's
 * sentFrom; the HTTP API has none). Built as one literal, absent fields
 * undefined (the encoder skips them): one object shape per message keeps the
 * gateway's hot path free of spreads and polymorphic encodes.
 */
export function messageEnvelope(
  msg: IM.Message.IMMsgData.$Properties,
  msgId: number,
  memberIds: readonly number[] = [],
  origin: MessageOrigin = {},
): tiertalk.Envelope.$Properties {
  const group = isGroupMsgType(msg.msgType);
  return {
    commandId: CID.CID_MSG_DATA,
    body: IM.Message.IMMsgData.encode({ ...msg, msgId }).finish(),
    toUserIds: group ? [...memberIds] : [msg.toSessionId, msg.fromUserId],
    kind: group ? MESSAGE_KIND_GROUP : MESSAGE_KIND_SINGLE,
    msgId,
    fromUserId: msg.fromUserId,
    toSessionId: msg.toSessionId,
    originGatewayId: origin.originGatewayId,
    originConnId: origin.originConnId,
    fromClientClass: origin.fromClientClass,
  };
}

/** The Envelope fields naming the connection a message was sent from. */
export type MessageOrigin = Pick<tiertalk.Envelope.$Properties, 'originGatewayId' | 'originConnId' | 'fromClientClass'>;
