import { CID, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { onClientTimeReq } from './client-time';
import { onMsgData } from './msg-data';
import { onMsgDataAck } from './msg-data-ack';

export const messageHandlers: HandlerTable = {
  [CID.CID_MSG_DATA]: on(IM.Message.IMMsgData.decode, onMsgData),
  [CID.CID_MSG_DATA_ACK]: on(IM.Message.IMMsgDataAck.decode, onMsgDataAck),
  [CID.CID_MSG_TIME_REQUEST]: on(IM.Message.IMClientTimeReq.decode, onClientTimeReq),
};
