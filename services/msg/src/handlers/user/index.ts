import { CID, DbProxyService, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { relay } from '../forward';
import { onChangeAvatarReq, onChangeSignInfoReq } from './profile-changes';
import { onUsersStatReq } from './users-stat';

// flows.md §9: the directory is relayed to db-proxy and answered to the requesting connection.
export const userHandlers: HandlerTable = {
  [CID.CID_BUDDY_LIST_USER_INFO_REQUEST]: relay(IM.Buddy.IMUsersInfoReq, DbProxyService.UsersInfo, CID.CID_BUDDY_LIST_USER_INFO_RESPONSE, IM.Buddy.IMUsersInfoRsp),
  [CID.CID_BUDDY_LIST_ALL_USER_REQUEST]: relay(IM.Buddy.IMAllUserReq, DbProxyService.AllUsers, CID.CID_BUDDY_LIST_ALL_USER_RESPONSE, IM.Buddy.IMAllUserRsp),
  [CID.CID_BUDDY_LIST_DEPARTMENT_REQUEST]: relay(IM.Buddy.IMDepartmentReq, DbProxyService.Departments, CID.CID_BUDDY_LIST_DEPARTMENT_RESPONSE, IM.Buddy.IMDepartmentRsp),
  [CID.CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST]: on(IM.Buddy.IMChangeAvatarReq.decode, onChangeAvatarReq),
  [CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST]: on(IM.Buddy.IMChangeSignInfoReq.decode, onChangeSignInfoReq),
  // flows.md §5: answered by route from its session registry.
  [CID.CID_BUDDY_LIST_USERS_STATUS_REQUEST]: on(IM.Buddy.IMUsersStatReq.decode, onUsersStatReq),
};
