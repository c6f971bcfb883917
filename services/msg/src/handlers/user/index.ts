import { CID, DbProxyService, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { relay } from '../forward';
import { onAllUserReq } from './all-users';
import { onChangeAvatarReq, onChangeSignInfoReq } from './profile-changes';
import { onUsersStatReq } from './users-stat';

// docs/FLOWS.md §9: the directory is relayed to db-proxy and answered to the requesting connection.
export const userHandlers: HandlerTable = {
  [CID.CID_BUDDY_LIST_USER_INFO_REQUEST]: relay(IM.Buddy.IMUsersInfoReq, DbProxyService.UsersInfo, CID.CID_BUDDY_LIST_USER_INFO_RESPONSE, IM.Buddy.IMUsersInfoRsp),
  // Several frames when the directory is large (all-users.ts).
  [CID.CID_BUDDY_LIST_ALL_USER_REQUEST]: on(IM.Buddy.IMAllUserReq.decode, onAllUserReq),
  [CID.CID_BUDDY_LIST_DEPARTMENT_REQUEST]: relay(IM.Buddy.IMDepartmentReq, DbProxyService.Departments, CID.CID_BUDDY_LIST_DEPARTMENT_RESPONSE, IM.Buddy.IMDepartmentRsp),
  [CID.CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST]: on(IM.Buddy.IMChangeAvatarReq.decode, onChangeAvatarReq),
  [CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST]: on(IM.Buddy.IMChangeSignInfoReq.decode, onChangeSignInfoReq),
  // docs/FLOWS.md §5: answered by route from its session registry.
  [CID.CID_BUDDY_LIST_USERS_STATUS_REQUEST]: on(IM.Buddy.IMUsersStatReq.decode, onUsersStatReq),
};
