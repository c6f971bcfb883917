import { CID, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { onHeartbeat } from './heartbeat';
import { onP2PCmd } from './p2p';

export const otherHandlers: HandlerTable = {
  [CID.CID_OTHER_HEARTBEAT]: on(IM.Other.IMHeartBeat.decode, onHeartbeat),
  [CID.CID_SWITCH_P2P_CMD]: on(IM.SwitchService.IMP2PCmdMsg.decode, onP2PCmd),
};
