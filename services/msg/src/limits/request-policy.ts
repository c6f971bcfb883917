import { CID, IM } from '@tiertalk/proto';
import type { ListCaps } from '../config';
import type { RateClass } from './user-rate';

/** What a refused request is answered with: the command's response carrying an error result. */
export interface RefusalReply {
  commandId: number;
  body: Uint8Array;
}

/** How the gateway bounds one client command before its handler runs. */
export interface RequestPolicy {
  /** Per-user budget class (src/limits/user-rate.ts). */
  rate?: RateClass;
  /**
   * The list the request carries, and its cap. With `clamp` an oversize
   * request is served at the cap instead of refused (a page size, not a list).
   */
  list?: { count(msg: never): number; cap(caps: ListCaps): number; clamp?(msg: never, cap: number): void };
  /**
   * The response with an error result, for commands whose TeamTalk response
   * has a result code. Without it: a rate-limited request is dropped (the
   * client's request times out, as for any failed TeamTalk request), an
   * oversize one closes the connection.
   */
  refusal?(userId: number, msg: never): RefusalReply;
}

const TT_FAILED = 1;
const { GroupAdminResult } = IM.Group;

function list<T>(count: (msg: T) => number, cap: (caps: ListCaps) => number, clamp?: (msg: T, cap: number) => void): RequestPolicy['list'] {
  return { count: count as (msg: never) => number, cap, clamp: clamp as ((msg: never, cap: number) => void) | undefined };
}

function reply<T>(build: (userId: number, msg: T) => RefusalReply): RequestPolicy['refusal'] {
  return build as (userId: number, msg: never) => RefusalReply;
}

/** Keyed by command id; commands not listed are not bounded here (the in-flight limit still applies). */
export const REQUEST_POLICIES: Readonly<Record<number, RequestPolicy>> = {
  // Relayed to the peer's every connection on every gateway.
  [CID.CID_SWITCH_P2P_CMD]: { rate: 'p2p' },
  // Sign info is broadcast to every connection of every gateway; avatars go to every device of the user.
  [CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST]: {
    rate: 'profile',
    refusal: reply((userId, m: IM.Buddy.IMChangeSignInfoReq) => ({
      commandId: CID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE,
      body: IM.Buddy.IMChangeSignInfoRsp.encode({ userId, resultCode: TT_FAILED, signInfo: m.signInfo }).finish(),
    })),
  },
  [CID.CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST]: {
    rate: 'profile',
    refusal: reply((userId) => ({
      commandId: CID.CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE,
      body: IM.Buddy.IMChangeAvatarRsp.encode({ userId, resultCode: TT_FAILED }).finish(),
    })),
  },
  // Group writes: each notifies every member.
  [CID.CID_GROUP_CREATE_REQUEST]: {
    rate: 'groupChange',
    list: list((m: IM.Group.IMGroupCreateReq) => m.memberIdList.length, (c) => c.groupMembers),
    refusal: reply((userId, m: IM.Group.IMGroupCreateReq) => ({
      commandId: CID.CID_GROUP_CREATE_RESPONSE,
      body: IM.Group.IMGroupCreateRsp.encode({ userId, resultCode: TT_FAILED, groupName: m.groupName, userIdList: [] }).finish(),
    })),
  },
  [CID.CID_GROUP_CHANGE_MEMBER_REQUEST]: {
    rate: 'groupChange',
    list: list((m: IM.Group.IMGroupChangeMemberReq) => m.memberIdList.length, (c) => c.groupMembers),
    refusal: reply((userId, m: IM.Group.IMGroupChangeMemberReq) => ({
      commandId: CID.CID_GROUP_CHANGE_MEMBER_RESPONSE,
      body: IM.Group.IMGroupChangeMemberRsp.encode({ userId, changeType: m.changeType, resultCode: TT_FAILED, groupId: m.groupId }).finish(),
    })),
  },
  [CID.CID_GROUP_KICK_REQUEST]: {
    rate: 'groupChange',
    list: list((m: IM.Group.IMGroupKickReq) => m.memberIdList.length, (c) => c.groupMembers),
    refusal: reply((userId, m: IM.Group.IMGroupKickReq) => ({
      commandId: CID.CID_GROUP_KICK_RESPONSE,
      body: IM.Group.IMGroupKickRsp.encode({ userId, groupId: m.groupId, resultCode: GroupAdminResult.GROUP_ADMIN_FAILED }).finish(),
    })),
  },
  // Directory and history reads: no result code in their responses.
  [CID.CID_BUDDY_LIST_USER_INFO_REQUEST]: { rate: 'listQuery', list: list((m: IM.Buddy.IMUsersInfoReq) => m.userIdList.length, (c) => c.userIds) },
  [CID.CID_BUDDY_LIST_USERS_STATUS_REQUEST]: { rate: 'listQuery', list: list((m: IM.Buddy.IMUsersStatReq) => m.userIdList.length, (c) => c.userIds) },
  [CID.CID_BUDDY_LIST_ALL_USER_REQUEST]: { rate: 'listQuery' },
  [CID.CID_BUDDY_LIST_DEPARTMENT_REQUEST]: { rate: 'listQuery' },
  [CID.CID_GROUP_INFO_REQUEST]: { rate: 'listQuery', list: list((m: IM.Group.IMGroupInfoListReq) => m.groupVersionList.length, (c) => c.groupIds) },
  // A larger page is served at the cap: the client pages on until it has everything (TeamTalk clients ask 20-40).
  [CID.CID_MSG_LIST_REQUEST]: {
    rate: 'listQuery',
    list: list(
      (m: IM.Message.IMGetMsgListReq) => m.msgCnt,
      (c) => c.historyPage,
      (m: IM.Message.IMGetMsgListReq, cap) => {
        m.msgCnt = cap;
      },
    ),
  },
  [CID.CID_MSG_GET_BY_MSG_ID_REQ]: { rate: 'listQuery', list: list((m: IM.Message.IMGetMsgByIdReq) => m.msgIdList.length, (c) => c.msgIds) },
  // TierTalk extensions (docs/PROTOCOL.md §6): one database lookup each, limited like history reads.
  [CID.CID_MSG_RECALL_REQ]: { rate: 'listQuery' },
  [CID.CID_MSG_READERS_REQ]: { rate: 'listQuery' },
};
