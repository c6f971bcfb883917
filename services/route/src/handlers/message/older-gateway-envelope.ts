import { CID, IM, isGroupMsgType, isSingleMsgType, tiertalk } from '@tiertalk/proto';

const { MESSAGE_KIND_OTHER, MESSAGE_KIND_SINGLE, MESSAGE_KIND_GROUP } = tiertalk.MessageKind;

/**
 * Rolling upgrades (docs/OPERATIONS.md §6 upgrades route before the
 * gateways): an older gateway, HTTP API or ttctl sends a stored message
 * without Envelope.kind and its ids. Those are read from the body here, once,
 * so offline pushes and the gateways' repeat checks keep working in a mixed
 * cluster. Every other envelope is returned as it is, undecoded. Can go once
 * no older sender is left.
 */
export function withMessageFields(env: tiertalk.Envelope.$Properties): tiertalk.Envelope.$Properties {
  if (env.commandId !== CID.CID_MSG_DATA || (env.kind ?? MESSAGE_KIND_OTHER) !== MESSAGE_KIND_OTHER) return env;
  let msg: IM.Message.IMMsgData;
  try {
    msg = IM.Message.IMMsgData.decode(env.body);
  } catch {
    // Pushed as it came, as before: the receiving gateway passes it on without repeat checks.
    return env;
  }
  const kind = isGroupMsgType(msg.msgType) ? MESSAGE_KIND_GROUP : isSingleMsgType(msg.msgType) ? MESSAGE_KIND_SINGLE : MESSAGE_KIND_OTHER;
  if (kind === MESSAGE_KIND_OTHER) return env;
  return { ...env, kind, msgId: msg.msgId, fromUserId: msg.fromUserId, toSessionId: msg.toSessionId };
}
