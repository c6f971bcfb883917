import { CID, DbProxyService, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { relay } from '../forward';
import { onDeviceTokenReq } from './device-token';

// docs/FLOWS.md §11: mobile push settings.
export const pushHandlers: HandlerTable = {
  [CID.CID_LOGIN_REQ_DEVICETOKEN]: on(IM.Login.IMDeviceTokenReq.decode, onDeviceTokenReq),
  [CID.CID_LOGIN_REQ_PUSH_SHIELD]: relay(IM.Login.IMPushShieldReq, DbProxyService.PushShield, CID.CID_LOGIN_RES_PUSH_SHIELD, IM.Login.IMPushShieldRsp),
  [CID.CID_LOGIN_REQ_QUERY_PUSH_SHIELD]: relay(IM.Login.IMQueryPushShieldReq, DbProxyService.QueryPushShield, CID.CID_LOGIN_RES_QUERY_PUSH_SHIELD, IM.Login.IMQueryPushShieldRsp),
};
