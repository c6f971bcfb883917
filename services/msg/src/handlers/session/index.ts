import { CID, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { onRecentSessionReq, onRemoveSessionReq } from './recent-sessions';

export const sessionHandlers: HandlerTable = {
  [CID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST]: on(IM.Buddy.IMRecentContactSessionReq.decode, onRecentSessionReq),
  [CID.CID_BUDDY_LIST_REMOVE_SESSION_REQ]: on(IM.Buddy.IMRemoveSessionReq.decode, onRemoveSessionReq),
};
