import { CID, DbProxyService, IM } from '@tiertalk/proto';
import { on } from '../../dispatcher';
import type { HandlerTable } from '../../dispatcher';
import { forwardToDbProxy } from '../forward';
import { onChangeAvatarReq, onChangeSignInfoReq } from './profile-changes';
import { onUsersStatReq } from './users-stat';

// flows.md §9: the directory is relayed to db-proxy and answered to the requesting connection.
export const userHandlers: HandlerTable = {
  [CID.CID_BUDDY_LIST_USER_INFO_REQUEST]: on(
    IM.Buddy.IMUsersInfoReq.decode,
    forwardToDbProxy({
      method: DbProxyService.UsersInfo,
      replyCid: CID.CID_BUDDY_LIST_USER_INFO_RESPONSE,
      encodeReply: (res) => IM.Buddy.IMUsersInfoRsp.encode(res).finish(),
    }),
  ),
  [CID.CID_BUDDY_LIST_ALL_USER_REQUEST]: on(
    IM.Buddy.IMAllUserReq.decode,
    forwardToDbProxy({
      method: DbProxyService.AllUsers,
      replyCid: CID.CID_BUDDY_LIST_ALL_USER_RESPONSE,
      encodeReply: (res) => IM.Buddy.IMAllUserRsp.encode(res).finish(),
    }),
  ),
  [CID.CID_BUDDY_LIST_DEPARTMENT_REQUEST]: on(
    IM.Buddy.IMDepartmentReq.decode,
    forwardToDbProxy({
      method: DbProxyService.Departments,
      replyCid: CID.CID_BUDDY_LIST_DEPARTMENT_RESPONSE,
      encodeReply: (res) => IM.Buddy.IMDepartmentRsp.encode(res).finish(),
    }),
  ),
  [CID.CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST]: on(IM.Buddy.IMChangeAvatarReq.decode, onChangeAvatarReq),
  [CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST]: on(IM.Buddy.IMChangeSignInfoReq.decode, onChangeSignInfoReq),
  // flows.md §5: answered by route from its session registry.
  [CID.CID_BUDDY_LIST_USERS_STATUS_REQUEST]: on(IM.Buddy.IMUsersStatReq.decode, onUsersStatReq),
};
