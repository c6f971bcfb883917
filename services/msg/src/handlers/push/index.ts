import { CID, DbProxyService, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { forwardToDbProxy } from '../forward';
import { onDeviceTokenReq } from './device-token';

// flows.md §11: mobile push settings.
export const pushHandlers: HandlerTable = {
  [CID.CID_LOGIN_REQ_DEVICETOKEN]: on(IM.Login.IMDeviceTokenReq.decode, onDeviceTokenReq),
  [CID.CID_LOGIN_REQ_PUSH_SHIELD]: on(
    IM.Login.IMPushShieldReq.decode,
    forwardToDbProxy({
      method: DbProxyService.PushShield,
      replyCid: CID.CID_LOGIN_RES_PUSH_SHIELD,
      encodeReply: (res) => IM.Login.IMPushShieldRsp.encode(res).finish(),
    }),
  ),
  [CID.CID_LOGIN_REQ_QUERY_PUSH_SHIELD]: on(
    IM.Login.IMQueryPushShieldReq.decode,
    forwardToDbProxy({
      method: DbProxyService.QueryPushShield,
      replyCid: CID.CID_LOGIN_RES_QUERY_PUSH_SHIELD,
      encodeReply: (res) => IM.Login.IMQueryPushShieldRsp.encode(res).finish(),
    }),
  ),
};
