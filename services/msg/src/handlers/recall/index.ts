import { CID, DbProxyService, IM, tiertalk } from '@tiertalk/proto';
import type { Connection } from '../../conn/connection';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import type { GatewayContext } from '../../gateway-context';
import { forwardToDbProxy, relay } from '../forward';
import { sentFrom } from '../sent-from';

const { SESSION_TYPE_SINGLE } = IM.BaseDefine.SessionType;
const { RECALL_OK } = IM.Message.MsgRecallResult;

/**
 * TierTalk extension (docs/PROTOCOL.md §6): IMMsgRecallNotify travels like the
 * recalled message: to the peer and the sender's other connections (1:1), or
 * to every member (group), through route's Deliver stream; the requesting
 * connection has the answer instead.
 */
async function notifyRecall(ctx: GatewayContext, conn: Connection, res: IM.Message.IMMsgRecallRsp): Promise<void> {
  let toUserIds: number[];
  if (res.sessionType === SESSION_TYPE_SINGLE) {
    toUserIds = [res.sessionId, conn.userId];
  } else {
    // A recall is rare: one unary lookup of the members is fine here.
    const members = await ctx.db.call(DbProxyService.GroupMembers, tiertalk.GroupMembersReq.create({ groupId: res.sessionId }));
    toUserIds = [...new Set([...members.memberIds, conn.userId])];
  }
  const body = IM.Message.IMMsgRecallNotify.encode({
    fromUserId: conn.userId,
    toSessionId: res.sessionId,
    msgId: res.msgId,
    sessionType: res.sessionType,
    recallTime: res.recallTime ?? 0,
  }).finish();
  ctx.route.deliver({ commandId: CID.CID_MSG_RECALL_NOTIFY, body, toUserIds, ...sentFrom(ctx, conn) });
}

export const recallHandlers: HandlerTable = {
  [CID.CID_MSG_RECALL_REQ]: on(
    IM.Message.IMMsgRecallReq.decode,
    forwardToDbProxy({
      method: DbProxyService.MsgRecall,
      replyCid: CID.CID_MSG_RECALL_RSP,
      encodeReply: (res) => IM.Message.IMMsgRecallRsp.encode(res).finish(),
      after: (ctx, conn, _req, res) => {
        if (res.resultCode !== RECALL_OK) return;
        notifyRecall(ctx, conn, res).catch((err: unknown) => conn.log.warn({ err, msgId: res.msgId }, 'recall stored; recall notify not sent'));
      },
    }),
  ),
  [CID.CID_MSG_READERS_REQ]: relay(IM.Message.IMMsgReadersReq, DbProxyService.MsgReaders, CID.CID_MSG_READERS_RSP, IM.Message.IMMsgReadersRsp),
};
