import { CID, DbProxyService, IM } from '@tiertalk/proto';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';
import { forwardToDbProxy } from '../forward';
import { sentFrom } from '../sent-from';

/**
 * docs/FLOWS.md §10.4: 0x0407 → db-proxy → 0x0408 to the requester; on result 0
 * IMGroupChangeMemberNotify (0x040b) to every connection of every user in
 * cur ∪ chg, on every gateway, except the requesting connection (route
 * excludes the origin connection; the requester's other devices get it).
 */
export const onGroupChangeMemberReq = forwardToDbProxy({
  method: DbProxyService.GroupChangeMember,
  replyCid: CID.CID_GROUP_CHANGE_MEMBER_RESPONSE,
  encodeReply: (res) => IM.Group.IMGroupChangeMemberRsp.encode(res).finish(),
  after: (ctx: GatewayContext, conn: Connection, _req, res) => {
    if (res.resultCode !== 0) return;
    const notify = IM.Group.IMGroupChangeMemberNotify.encode({
      userId: conn.userId,
      changeType: res.changeType,
      groupId: res.groupId,
      curUserIdList: res.curUserIdList,
      chgUserIdList: res.chgUserIdList,
    }).finish();
    ctx.route.deliver({
      commandId: CID.CID_GROUP_CHANGE_MEMBER_NOTIFY,
      body: notify,
      toUserIds: [...new Set([...res.curUserIdList, ...res.chgUserIdList])],
      ...sentFrom(ctx, conn),
    });
  },
});
