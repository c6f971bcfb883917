import { CID, DbProxyService, IM } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';
import { sentFrom } from '../sent-from';

const { SESSION_TYPE_SINGLE } = IM.BaseDefine.SessionType;

/**
 * docs/FLOWS.md §6: the reader's ack clears the session's unread counter at
 * db-proxy (no reply to the client), then the reader's other connections, on
 * every gateway, learn it through IMMsgDataReadNotify; the acking connection
 * does not. Nothing is notified when db-proxy refused or failed the ack.
 */
export async function onMsgReadAck(ctx: GatewayContext, conn: Connection, ack: IM.Message.IMMsgDataReadAck, frame: Frame): Promise<void> {
  const userId = conn.userId;
  const { sessionId, msgId, sessionType } = ack;
  try {
    await ctx.db.call(DbProxyService.ReadAck, IM.Message.IMMsgDataReadAck.create({ userId, sessionId, msgId, sessionType }));
  } catch (err) {
    conn.log.warn({ cid: frame.commandId, seq: frame.seqNum, sessionId, sessionType, err }, 'read ack not stored');
    return;
  }
  // §6 step 4: the delivery of that message to this connection is settled.
  if (sessionType === SESSION_TYPE_SINGLE) conn.awaiting.remove(sessionId, msgId);
  ctx.route.deliver({
    commandId: CID.CID_MSG_READ_NOTIFY,
    body: IM.Message.IMMsgDataReadNotify.encode({ userId, sessionId, msgId, sessionType }).finish(),
    toUserIds: [userId],
    ...sentFrom(ctx, conn),
  });
  // TierTalk extension (docs/PROTOCOL.md §6): the 1:1 peer, whose messages up
  // to msgId are now read, gets a read receipt on the same Deliver stream.
  if (sessionType === SESSION_TYPE_SINGLE && msgId > 0) {
    ctx.route.deliver({
      commandId: CID.CID_MSG_READ_RECEIPT_NOTIFY,
      body: IM.Message.IMMsgReadReceiptNotify.encode({ readerId: userId, sessionType, sessionId: userId, msgId }).finish(),
      toUserIds: [sessionId],
      ...sentFrom(ctx, conn),
    });
  }
}
