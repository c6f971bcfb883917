import { encodeFrame } from '@tiertalk/pdu';
import type { Frame } from '@tiertalk/pdu';
import type { IM } from '@tiertalk/proto';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';

/** docs/FLOWS.md §3: the msg server echoes the client's heartbeat PDU unchanged (same seq_num). */
export function onHeartbeat(_ctx: GatewayContext, conn: Connection, _msg: IM.Other.IMHeartBeat, frame: Frame): void {
  conn.send(encodeFrame(frame.serviceId, frame.commandId, frame.seqNum, frame.body));
}
