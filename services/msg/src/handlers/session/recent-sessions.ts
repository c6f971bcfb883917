import { CID, DbProxyService, IM } from '@tiertalk/proto';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';
import { forwardToDbProxy } from '../forward';
import { sentFrom } from '../sent-from';

const { SESSION_TYPE_SINGLE } = IM.BaseDefine.SessionType;

/** docs/FLOWS.md §8: the recent-session list, answered to the asking connection. */
export const onRecentSessionReq = forwardToDbProxy({
  method: DbProxyService.RecentSessions,
  replyCid: CID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_RESPONSE,
  encodeReply: (res) => IM.Buddy.IMRecentContactSessionRsp.encode(res).finish(),
});

/**
 * docs/FLOWS.md §8 remove: the reply goes to the asking connection; for a single
 * session the user's other connections (every gateway) get
 * IMRemoveSessionNotify. TeamTalk sends the notify without waiting for
 * db-proxy; here it follows db-proxy's answer, so a refused request (no
 * session named) notifies nobody.
 */
export const onRemoveSessionReq = forwardToDbProxy({
  method: DbProxyService.RemoveSession,
  replyCid: CID.CID_BUDDY_LIST_REMOVE_SESSION_RES,
  encodeReply: (res) => IM.Buddy.IMRemoveSessionRsp.encode(res).finish(),
  after: notifyOtherDevices,
});

function notifyOtherDevices(ctx: GatewayContext, conn: Connection, req: IM.Buddy.IMRemoveSessionReq): void {
  if (req.sessionType !== SESSION_TYPE_SINGLE) return;
  ctx.route.deliver({
    commandId: CID.CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY,
    body: IM.Buddy.IMRemoveSessionNotify.encode({ userId: conn.userId, sessionType: req.sessionType, sessionId: req.sessionId }).finish(),
    toUserIds: [conn.userId],
    ...sentFrom(ctx, conn),
  });
}
