import { CID, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { onHeartbeat } from './heartbeat';

export const otherHandlers: HandlerTable = {
  [CID.CID_OTHER_HEARTBEAT]: on(IM.Other.IMHeartBeat.decode, onHeartbeat),
};
