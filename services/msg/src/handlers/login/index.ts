import { CID, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { onKickPcClientReq } from './kick-pc';
import { onLoginReq } from './login';
import { onLogoutReq } from './logout';

export const loginHandlers: HandlerTable = {
  [CID.CID_LOGIN_REQ_USERLOGIN]: on(IM.Login.IMLoginReq.decode, onLoginReq),
  [CID.CID_LOGIN_REQ_LOGINOUT]: on(IM.Login.IMLogoutReq.decode, onLogoutReq),
  [CID.CID_LOGIN_REQ_KICKPCCLIENT]: on(IM.Login.IMKickPCClientReq.decode, onKickPcClientReq),
};
export { onConnectionClosed } from './connection-closed';
