import { CID, DbProxyService, IM } from '@tiertalk/proto';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';
import { forwardToDbProxy } from '../forward';
import { sentFrom } from '../sent-from';

/**
 * 0x020c → 0x020d. TeamTalk's msg server sends db-proxy's answer to every
 * connection of the user (docs/FLOWS.md §9, docs/FLOWS.md §14 U6): the requester gets it
 * with its seq_num, the user's other connections on every gateway through route.
 */
export const onChangeAvatarReq = forwardToDbProxy({
  method: DbProxyService.ChangeAvatar,
  replyCid: CID.CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE,
  encodeReply: (res) => IM.Buddy.IMChangeAvatarRsp.encode(res).finish(),
  after: (ctx: GatewayContext, conn: Connection, _req, res) => {
    ctx.route.deliver({
      commandId: CID.CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE,
      body: IM.Buddy.IMChangeAvatarRsp.encode({ userId: conn.userId, resultCode: res.resultCode }).finish(),
      toUserIds: [conn.userId],
      ...sentFrom(ctx, conn),
    });
  },
});

/**
 * 0x0213 → 0x0214 to the requester; on result 0 IMSignInfoChangedNotify goes
 * to every logged-in connection on every gateway, the changer's included
 * (docs/FLOWS.md §9, docs/FLOWS.md §14 U5). TeamTalk's fall-through into the group
 * handler is not copied.
 */
export const onChangeSignInfoReq = forwardToDbProxy({
  method: DbProxyService.ChangeSignInfo,
  replyCid: CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE,
  encodeReply: (res) => IM.Buddy.IMChangeSignInfoRsp.encode(res).finish(),
  after: (ctx: GatewayContext, conn: Connection, req, res) => {
    if (res.resultCode !== 0) return;
    ctx.route.deliver({
      commandId: CID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY,
      body: IM.Buddy.IMSignInfoChangedNotify.encode({ changedUserId: conn.userId, signInfo: req.signInfo }).finish(),
      allUsers: true,
    });
  },
});
