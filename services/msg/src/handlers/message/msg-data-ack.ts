import type { IM } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';

/** docs/FLOWS.md §4 step 5: the receiver's ack only clears its awaiting entry; no reply, no forward. */
export function onMsgDataAck(_ctx: GatewayContext, conn: Connection, ack: IM.Message.IMMsgDataAck, _frame: Frame): void {
  conn.awaiting.remove(ack.sessionId, ack.msgId);
}
