import { CID, IM, RouteService, isMobileClient, sameClientClass } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';

const { CLIENT_TYPE_MAC } = IM.BaseDefine.ClientType;
const { KICK_REASON_MOBILE_KICK } = IM.BaseDefine.KickReasonType;

/**
 * docs/FLOWS.md §11 (docs/FLOWS.md §14 L12): a mobile logs the user's PC client out.
 * From a PC connection it is ignored. The PC-class connections here are kicked
 * at once, route kicks them on every other gateway (TeamTalk names client type
 * Mac; the same-class test makes it hit Windows too), and the mobile gets
 * IMKickPCClientRsp{user_id, 0} with its seq_num — always 0, as TeamTalk.
 */
export async function onKickPcClientReq(ctx: GatewayContext, conn: Connection, _req: IM.Login.IMKickPCClientReq, frame: Frame): Promise<void> {
  if (!isMobileClient(conn.clientType)) {
    conn.log.info({ clientType: conn.clientType, seq: frame.seqNum }, 'kick-PC request from a non-mobile client ignored');
    return;
  }
  const userId = conn.userId;
  let local = 0;
  for (const other of ctx.connections.connectionsOf(userId)) {
    if (other !== conn && sameClientClass(other.clientType, CLIENT_TYPE_MAC) && other.kick(KICK_REASON_MOBILE_KICK)) local += 1;
  }
  let remote = 0;
  try {
    const rsp = await ctx.route.call(
      RouteService.KickUser,
      IM.Server.IMServerKickUser.create({ userId, clientType: CLIENT_TYPE_MAC, reason: KICK_REASON_MOBILE_KICK }),
    );
    remote = rsp.kicked;
  } catch (err) {
    // PC sessions on other gateways stay; the local kick is done and TeamTalk answers 0 regardless.
    conn.log.warn({ err }, 'route kick of the PC client failed');
  }
  conn.log.info({ local, remote }, 'PC client kicked by mobile');
  if (!conn.isClosed) {
    conn.sendPdu(CID.CID_LOGIN_RES_KICKPCCLIENT, frame.seqNum, IM.Login.IMKickPCClientRsp.encode({ userId, resultCode: 0 }).finish());
  }
}
