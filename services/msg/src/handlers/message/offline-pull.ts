import { CID, DbProxyService, IM } from '@tiertalk/proto';
import { forwardToDbProxy } from '../forward';

// docs/FLOWS.md §7: unread counters, history, by id and latest id are relayed to
// db-proxy (user_id = the connection's user) and answered to the asking
// connection with the request's seq_num. A request db-proxy refuses (no
// session, invalid session type) gets no reply, as in TeamTalk.

export const onUnreadCntReq = forwardToDbProxy({
  method: DbProxyService.UnreadCount,
  replyCid: CID.CID_MSG_UNREAD_CNT_RESPONSE,
  encodeReply: (res) => IM.Message.IMUnreadMsgCntRsp.encode(res).finish(),
});

export const onMsgListReq = forwardToDbProxy({
  method: DbProxyService.MsgList,
  replyCid: CID.CID_MSG_LIST_RESPONSE,
  encodeReply: (res) => IM.Message.IMGetMsgListRsp.encode(res).finish(),
});

export const onMsgByIdReq = forwardToDbProxy({
  method: DbProxyService.MsgById,
  replyCid: CID.CID_MSG_GET_BY_MSG_ID_RES,
  encodeReply: (res) => IM.Message.IMGetMsgByIdRsp.encode(res).finish(),
});

export const onLatestMsgIdReq = forwardToDbProxy({
  method: DbProxyService.LatestMsgId,
  replyCid: CID.CID_MSG_GET_LATEST_MSG_ID_RSP,
  encodeReply: (res) => IM.Message.IMGetLatestMsgIdRsp.encode(res).finish(),
});
