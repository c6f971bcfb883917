import { CID, IM, RouteService, isMobileClient } from '@tiertalk/proto';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';

const { USER_STATUS_ONLINE } = IM.BaseDefine.UserStatType;

/**
 * docs/FLOWS.md §5 for the connection that just logged in. Route's presence pushes
 * for a login leave out the logging-in connection (it is not open when route
 * answers, and TeamTalk's client sees the login response first), so it is
 * told here, after IMLoginRes, what TeamTalk's route would have told it:
 * - a PC client gets its own IMUserStatNotify ONLINE (every PC login is
 *   broadcast to every PC connection, the new one included);
 * - a mobile client gets IMPCLoginStatusNotify ONLINE when the user has a PC
 *   client online (docs/FLOWS.md §14 P5), asked of route's registry.
 * Never rejects.
 */
export async function tellOwnPresence(ctx: GatewayContext, conn: Connection): Promise<void> {
  const userId = conn.userId;
  if (!isMobileClient(conn.clientType)) {
    const body = IM.Buddy.IMUserStatNotify.encode({ userStat: { userId, status: USER_STATUS_ONLINE } }).finish();
    if (conn.deliverable) conn.sendPdu(CID.CID_BUDDY_LIST_STATUS_NOTIFY, 0, body);
    return;
  }
  let rsp: IM.Buddy.IMUsersStatRsp;
  try {
    rsp = await ctx.route.call(RouteService.UsersStat, IM.Buddy.IMUsersStatReq.create({ userId, userIdList: [userId] }));
  } catch (err) {
    conn.log.warn({ err }, 'PC login status for the new mobile unknown: route query failed');
    return;
  }
  if (rsp.userStatList[0]?.status !== USER_STATUS_ONLINE || !conn.deliverable) return;
  conn.sendPdu(CID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY, 0, IM.Buddy.IMPCLoginStatusNotify.encode({ userId, loginStat: USER_STATUS_ONLINE }).finish());
}
