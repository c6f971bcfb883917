import { CID, IM } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';

/** docs/FLOWS.md §14 H4: server UNIX time, request seq_num. */
export function onClientTimeReq(_ctx: GatewayContext, conn: Connection, _req: IM.Message.IMClientTimeReq, frame: Frame): void {
  const rsp = IM.Message.IMClientTimeRsp.encode({ serverTime: Math.floor(Date.now() / 1000) }).finish();
  conn.sendPdu(CID.CID_MSG_TIME_RESPONSE, frame.seqNum, rsp);
}
