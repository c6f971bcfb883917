import { CID, DbProxyService, IM, isMobileClient } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';

/**
 * docs/FLOWS.md §11, docs/FLOWS.md §14 N1: only mobile connections register a push
 * token. The client is answered at once (TeamTalk leaves the required user_id
 * unset, a source bug: it is the connection's user here); db-proxy's own
 * answer is consumed, never forwarded.
 */
export async function onDeviceTokenReq(ctx: GatewayContext, conn: Connection, req: IM.Login.IMDeviceTokenReq, frame: Frame): Promise<void> {
  if (!isMobileClient(conn.clientType)) {
    conn.log.info({ seq: frame.seqNum, clientType: conn.clientType }, 'device token from a PC client ignored');
    return;
  }
  conn.sendPdu(CID.CID_LOGIN_RES_DEVICETOKEN, frame.seqNum, IM.Login.IMDeviceTokenRsp.encode({ userId: conn.userId }).finish());
  await storeDeviceToken(ctx, conn, req.deviceToken);
}

/** M → D IMDeviceTokenReq for the connection's user; failures are logged (the client has its answer). */
export async function storeDeviceToken(ctx: GatewayContext, conn: Connection, deviceToken: string): Promise<void> {
  const req = IM.Login.IMDeviceTokenReq.create({ userId: conn.userId, deviceToken, clientType: conn.clientType });
  try {
    await ctx.db.call(DbProxyService.DeviceToken, req);
  } catch (err) {
    conn.log.warn({ err, cleared: deviceToken === '' }, 'device token not stored');
  }
}
