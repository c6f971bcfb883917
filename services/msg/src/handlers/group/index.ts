import { CID, DbProxyService, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { relay } from '../forward';
import { onGroupDismissReq, onGroupKickReq, onGroupMuteReq, onGroupQuitReq, onGroupSetAdminReq } from './admin';
import { onGroupChangeMemberReq } from './change-member';

// docs/FLOWS.md §10: group requests are relayed to db-proxy (which checks the
// caller's role) and answered to the requesting connection.
export const groupHandlers: HandlerTable = {
  [CID.CID_GROUP_NORMAL_LIST_REQUEST]: relay(IM.Group.IMNormalGroupListReq, DbProxyService.NormalGroupList, CID.CID_GROUP_NORMAL_LIST_RESPONSE, IM.Group.IMNormalGroupListRsp),
  [CID.CID_GROUP_INFO_REQUEST]: relay(IM.Group.IMGroupInfoListReq, DbProxyService.GroupInfo, CID.CID_GROUP_INFO_RESPONSE, IM.Group.IMGroupInfoListRsp),
  [CID.CID_GROUP_CREATE_REQUEST]: relay(IM.Group.IMGroupCreateReq, DbProxyService.GroupCreate, CID.CID_GROUP_CREATE_RESPONSE, IM.Group.IMGroupCreateRsp, {
    // docs/FLOWS.md §10.3 step 1: clients may only create temporary groups; TeamTalk drops the rest silently.
    prepare: (req) => (req.groupType === IM.BaseDefine.GroupType.GROUP_TYPE_NORMAL ? 'clients may not create normal groups' : undefined),
  }),
  [CID.CID_GROUP_CHANGE_MEMBER_REQUEST]: on(IM.Group.IMGroupChangeMemberReq.decode, onGroupChangeMemberReq),
  [CID.CID_GROUP_SHIELD_GROUP_REQUEST]: relay(IM.Group.IMGroupShieldReq, DbProxyService.GroupShield, CID.CID_GROUP_SHIELD_GROUP_RESPONSE, IM.Group.IMGroupShieldRsp),
  // TierTalk's group administration (IM.Group 0x0420-0x042a, README): role checks in db-proxy.
  [CID.CID_GROUP_QUIT_REQUEST]: on(IM.Group.IMGroupQuitReq.decode, onGroupQuitReq),
  [CID.CID_GROUP_DISMISS_REQUEST]: on(IM.Group.IMGroupDismissReq.decode, onGroupDismissReq),
  [CID.CID_GROUP_KICK_REQUEST]: on(IM.Group.IMGroupKickReq.decode, onGroupKickReq),
  [CID.CID_GROUP_SET_ADMIN_REQUEST]: on(IM.Group.IMGroupSetAdminReq.decode, onGroupSetAdminReq),
  [CID.CID_GROUP_MUTE_REQUEST]: on(IM.Group.IMGroupMuteReq.decode, onGroupMuteReq),
};
