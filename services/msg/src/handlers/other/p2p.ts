import { CID, IM } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';
import { sentFrom } from '../sent-from';

/**
 * docs/PROTOCOL.md §3.6, docs/FLOWS.md §14 M10: an opaque peer-to-peer command ("typing",
 * shake) is relayed, never stored, to every connection of the peer and the
 * sender's other connections, on every gateway, through route (the sending
 * connection excluded). TeamTalk relays from_user_id as the client sent it;
 * we set it to the connection's user so nobody can speak for someone else —
 * a correct client sends its own id there, so it sees no difference.
 */
export function onP2PCmd(ctx: GatewayContext, conn: Connection, msg: IM.SwitchService.IMP2PCmdMsg, frame: Frame): void {
  const to = msg.toUserId;
  if (to === 0) {
    ctx.refusals.refuse('p2p_without_receiver', conn.offender, { seq: frame.seqNum });
    return;
  }
  const from = conn.userId;
  const body = IM.SwitchService.IMP2PCmdMsg.encode({ fromUserId: from, toUserId: to, cmdMsgData: msg.cmdMsgData }).finish();
  ctx.route.deliver({
    commandId: CID.CID_SWITCH_P2P_CMD,
    body,
    toUserIds: [to, from],
    ...sentFrom(ctx, conn),
  });
}
