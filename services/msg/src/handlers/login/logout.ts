import { CID, IM } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';

/** flows.md §12: IMLogoutRsp{0} with the request's seq_num, then close (the close hook deregisters). */
export function onLogoutReq(_ctx: GatewayContext, conn: Connection, _req: IM.Login.IMLogoutReq, frame: Frame): void {
  conn.sendPdu(CID.CID_LOGIN_RES_LOGINOUT, frame.seqNum, IM.Login.IMLogoutRsp.encode({ resultCode: 0 }).finish());
  conn.close('logout', 'flush');
}
