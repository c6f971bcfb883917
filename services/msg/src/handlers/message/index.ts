import { CID, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { onClientTimeReq } from './client-time';
import { onMsgData } from './msg-data';
import { onMsgDataAck } from './msg-data-ack';
import { onLatestMsgIdReq, onMsgByIdReq, onMsgListReq, onUnreadCntReq } from './offline-pull';
import { onMsgReadAck } from './read-ack';

export const messageHandlers: HandlerTable = {
  [CID.CID_MSG_DATA]: on(IM.Message.IMMsgData.decode, onMsgData),
  [CID.CID_MSG_DATA_ACK]: on(IM.Message.IMMsgDataAck.decode, onMsgDataAck),
  [CID.CID_MSG_TIME_REQUEST]: on(IM.Message.IMClientTimeReq.decode, onClientTimeReq),
  [CID.CID_MSG_READ_ACK]: on(IM.Message.IMMsgDataReadAck.decode, onMsgReadAck),
  [CID.CID_MSG_UNREAD_CNT_REQUEST]: on(IM.Message.IMUnreadMsgCntReq.decode, onUnreadCntReq),
  [CID.CID_MSG_LIST_REQUEST]: on(IM.Message.IMGetMsgListReq.decode, onMsgListReq),
  [CID.CID_MSG_GET_BY_MSG_ID_REQ]: on(IM.Message.IMGetMsgByIdReq.decode, onMsgByIdReq),
  [CID.CID_MSG_GET_LATEST_MSG_ID_REQ]: on(IM.Message.IMGetLatestMsgIdReq.decode, onLatestMsgIdReq),
};
