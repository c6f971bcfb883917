import { CID, IM, RouteService } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';

/**
 * docs/FLOWS.md §5 status query (docs/FLOWS.md §14 P4): route answers from its session
 * registry — ONLINE iff the user has a PC session — one UserStat per id in
 * request order; relayed to the asking connection with its seq_num. user_id is
 * the connection's user whatever the client sent. The list is capped before
 * this runs (TT_MAX_LIST_USER_IDS, src/limits; route's own bound is 10,000).
 */
export async function onUsersStatReq(ctx: GatewayContext, conn: Connection, req: IM.Buddy.IMUsersStatReq, frame: Frame): Promise<void> {
  const ids = req.userIdList;
  let rsp: IM.Buddy.IMUsersStatRsp;
  try {
    rsp = await ctx.route.call(RouteService.UsersStat, IM.Buddy.IMUsersStatReq.create({ userId: conn.userId, userIdList: ids }));
  } catch (err) {
    // TeamTalk has no error reply here: the client's request times out.
    conn.log.warn({ err, seq: frame.seqNum, count: ids.length }, 'users stat query failed');
    return;
  }
  if (conn.isClosed) return;
  // attach_data never reaches a client (docs/FLOWS.md §14 F8).
  const body = IM.Buddy.IMUsersStatRsp.encode({ userId: conn.userId, userStatList: rsp.userStatList }).finish();
  conn.sendPdu(CID.CID_BUDDY_LIST_USERS_STATUS_RESPONSE, frame.seqNum, body);
}
