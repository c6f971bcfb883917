import { CID, IM } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';
import { storeDeviceToken } from '../push/device-token';

/**
 * docs/FLOWS.md §12: clear the user's push token (M → D IMDeviceTokenReq with an
 * empty token, docs/FLOWS.md §14 L13), then IMLogoutRsp{0} with the request's
 * seq_num, then close (the close hook deregisters). The clear is awaited so a
 * quick re-login registering a new token cannot be overtaken by it.
 */
export async function onLogoutReq(ctx: GatewayContext, conn: Connection, _req: IM.Login.IMLogoutReq, frame: Frame): Promise<void> {
  await storeDeviceToken(ctx, conn, '');
  if (conn.isClosed) return;
  conn.sendPdu(CID.CID_LOGIN_RES_LOGINOUT, frame.seqNum, IM.Login.IMLogoutRsp.encode({ resultCode: 0 }).finish());
  conn.close('logout', 'flush');
}
