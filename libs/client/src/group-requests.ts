// Group commands of the SDK (docs/FLOWS.md §10, docs/PROTOCOL.md §3.5) and TierTalk's
// group administration extensions (IM.Group.proto 0x0420-0x042a, README).
// Reached as `client.groups`; replies are matched by seq_num like every request.
import { CID, IM } from '@tiertalk/proto';
import { ClientError } from './errors';

type GroupModifyType = IM.BaseDefine.GroupModifyType;
export type GroupType = IM.BaseDefine.GroupType;
export const GroupType = IM.BaseDefine.GroupType;
export const GroupAdminResult = IM.Group.GroupAdminResult;
export const GroupAdminAction = IM.Group.GroupAdminAction;

/** What the group requests need from a connection (TeamTalkClient provides it). */
export interface GroupRequestHost {
  request<Res>(commandId: number, body: Uint8Array, expectCommandId: number, decode: (body: Uint8Array) => Res, opts?: { timeoutMs?: number }): Promise<Res>;
  /** Own user id; throws BAD_STATE before login. */
  requireUserId(what: string): number;
  /** docs/FLOWS.md §10.2: IMMsgData to a group, resolved on its IMMsgDataAck{session_type GROUP}. */
  sendGroupMsgData(what: string, groupId: number, msgType: IM.BaseDefine.MsgType, msgData: Uint8Array, opts: GroupRequestOptions): Promise<GroupSendResult>;
}

export interface GroupSendResult {
  /** The msg_id the server assigned in the group (1, 2, 3... per group). */
  msgId: number;
  ackMs: number;
}

export interface GroupRequestOptions {
  timeoutMs?: number;
}

export interface CreateGroupOptions extends GroupRequestOptions {
  /** docs/FLOWS.md §10.3: clients may create only TMP groups; a NORMAL request is dropped by the server (REQUEST_TIMEOUT). Default TMP. */
  groupType?: GroupType;
}

/** 'add' | 'del' as TeamTalk's GroupModifyType. */
export type MemberChange = 'add' | 'del';

/**
 * A non-zero result_code becomes REQUEST_REFUSED carrying it; for the
 * extensions it is a GroupAdminResult (2 NOT_ALLOWED, 3 NO_SUCH_GROUP, 4 LIMIT_REACHED).
 */
function refusedUnlessZero<T>(what: string, resultCode: number, res: T): T {
  if (resultCode !== 0) {
    const name = IM.Group.GroupAdminResult[resultCode] ?? String(resultCode);
    throw new ClientError('REQUEST_REFUSED', `${what} refused: result_code ${resultCode} (${name})`, { resultCode });
  }
  return res;
}

function uint32(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${name} must be a uint32, got ${String(v)}`);
  return v;
}

export class GroupRequests {
  constructor(private readonly host: GroupRequestHost) {}

  /** docs/FLOWS.md §10.1: (group_id, version) of the NORMAL groups I belong to; temporary groups are not listed. */
  async normalGroupList(opts: GroupRequestOptions = {}): Promise<IM.BaseDefine.GroupVersionInfo.$Properties[]> {
    const userId = this.host.requireUserId('normalGroupList');
    const body = IM.Group.IMNormalGroupListReq.encode({ userId }).finish();
    const res = await this.host.request(CID.CID_GROUP_NORMAL_LIST_REQUEST, body, CID.CID_GROUP_NORMAL_LIST_RESPONSE, (b) => IM.Group.IMNormalGroupListRsp.decode(b), opts);
    return res.groupVersionList;
  }

  /**
   * docs/FLOWS.md §10.1: info of the listed groups whose version is newer than the
   * one given (version 0 = always), with members and my shield status.
   */
  async groupInfo(versions: readonly IM.BaseDefine.GroupVersionInfo.$Properties[], opts: GroupRequestOptions = {}): Promise<IM.BaseDefine.GroupInfo.$Properties[]> {
    const userId = this.host.requireUserId('groupInfo');
    const body = IM.Group.IMGroupInfoListReq.encode({ userId, groupVersionList: versions.map((v) => ({ groupId: v.groupId, version: v.version })) }).finish();
    const res = await this.host.request(CID.CID_GROUP_INFO_REQUEST, body, CID.CID_GROUP_INFO_RESPONSE, (b) => IM.Group.IMGroupInfoListRsp.decode(b), opts);
    return res.groupInfoList;
  }

  /**
   * docs/FLOWS.md §10.3: creates a temporary group. The creator is not added
   * implicitly (TeamTalk clients list themselves): include your own id.
   */
  async createGroup(name: string, avatar: string, memberIds: readonly number[], opts: CreateGroupOptions = {}): Promise<IM.Group.IMGroupCreateRsp & { groupId: number }> {
    const userId = this.host.requireUserId('createGroup');
    const body = IM.Group.IMGroupCreateReq.encode({
      userId,
      groupType: opts.groupType ?? IM.BaseDefine.GroupType.GROUP_TYPE_TMP,
      groupName: name,
      groupAvatar: avatar,
      memberIdList: memberIds.map((id) => uint32('memberId', id)),
    }).finish();
    const res = await this.host.request(CID.CID_GROUP_CREATE_REQUEST, body, CID.CID_GROUP_CREATE_RESPONSE, (b) => IM.Group.IMGroupCreateRsp.decode(b), opts);
    refusedUnlessZero('createGroup', res.resultCode, res);
    if (!res.groupId) throw new ClientError('BAD_RESPONSE', 'IMGroupCreateRsp without group_id on success');
    return Object.assign(res, { groupId: res.groupId });
  }

  /** docs/FLOWS.md §10.4: adds or removes members; the others get 'groupChangeMember'. */
  async changeGroupMembers(groupId: number, change: MemberChange, memberIds: readonly number[], opts: GroupRequestOptions = {}): Promise<IM.Group.IMGroupChangeMemberRsp> {
    const userId = this.host.requireUserId('changeGroupMembers');
    const changeType: GroupModifyType = change === 'add' ? IM.BaseDefine.GroupModifyType.GROUP_MODIFY_TYPE_ADD : IM.BaseDefine.GroupModifyType.GROUP_MODIFY_TYPE_DEL;
    const body = IM.Group.IMGroupChangeMemberReq.encode({ userId, changeType, groupId: uint32('groupId', groupId), memberIdList: memberIds.map((id) => uint32('memberId', id)) }).finish();
    const res = await this.host.request(
      CID.CID_GROUP_CHANGE_MEMBER_REQUEST,
      body,
      CID.CID_GROUP_CHANGE_MEMBER_RESPONSE,
      (b) => IM.Group.IMGroupChangeMemberRsp.decode(b),
      opts,
    );
    return refusedUnlessZero('changeGroupMembers', res.resultCode, res);
  }

  /** docs/FLOWS.md §10.5: shields (on) or unshields this group's notifications for me; GroupInfo.shield_status reflects it. */
  async shieldGroup(groupId: number, on: boolean, opts: GroupRequestOptions = {}): Promise<IM.Group.IMGroupShieldRsp> {
    const userId = this.host.requireUserId('shieldGroup');
    const body = IM.Group.IMGroupShieldReq.encode({ userId, groupId: uint32('groupId', groupId), shieldStatus: on ? 1 : 0 }).finish();
    const res = await this.host.request(CID.CID_GROUP_SHIELD_GROUP_REQUEST, body, CID.CID_GROUP_SHIELD_GROUP_RESPONSE, (b) => IM.Group.IMGroupShieldRsp.decode(b), opts);
    return refusedUnlessZero('shieldGroup', res.resultCode, res);
  }

  /**
   * docs/FLOWS.md §10.2: a group text message, resolved on its ACK. A non-member's
   * or muted member's message is not stored and never ACKed (ACK_TIMEOUT).
   */
  sendGroupText(groupId: number, text: string | Uint8Array, opts: GroupRequestOptions = {}): Promise<GroupSendResult> {
    const msgData = typeof text === 'string' ? new TextEncoder().encode(text) : text;
    return this.host.sendGroupMsgData('sendGroupText', uint32('groupId', groupId), IM.BaseDefine.MsgType.MSG_TYPE_GROUP_TEXT, msgData, opts);
  }

  /** docs/FLOWS.md §10.2 with §4 step 3.4's body: duration as a big-endian uint32, then the audio bytes. */
  sendGroupAudio(groupId: number, durationSec: number, audio: Uint8Array, opts: GroupRequestOptions = {}): Promise<GroupSendResult> {
    const msgData = new Uint8Array(4 + audio.byteLength);
    new DataView(msgData.buffer).setUint32(0, uint32('durationSec', durationSec));
    msgData.set(audio, 4);
    return this.host.sendGroupMsgData('sendGroupAudio', uint32('groupId', groupId), IM.BaseDefine.MsgType.MSG_TYPE_GROUP_AUDIO, msgData, opts);
  }

  // ---- TierTalk extensions (0x0420-0x042a): every member gets 'groupAdmin' after a change ----

  /** Leaves a group (any member but the owner, who dismisses instead). */
  async quitGroup(groupId: number, opts: GroupRequestOptions = {}): Promise<IM.Group.IMGroupQuitRsp> {
    const userId = this.host.requireUserId('quitGroup');
    const body = IM.Group.IMGroupQuitReq.encode({ userId, groupId: uint32('groupId', groupId) }).finish();
    const res = await this.host.request(CID.CID_GROUP_QUIT_REQUEST, body, CID.CID_GROUP_QUIT_RESPONSE, (b) => IM.Group.IMGroupQuitRsp.decode(b), opts);
    return refusedUnlessZero('quitGroup', res.resultCode, res);
  }

  /** Dismisses a group (owner only). */
  async dismissGroup(groupId: number, opts: GroupRequestOptions = {}): Promise<IM.Group.IMGroupDismissRsp> {
    const userId = this.host.requireUserId('dismissGroup');
    const body = IM.Group.IMGroupDismissReq.encode({ userId, groupId: uint32('groupId', groupId) }).finish();
    const res = await this.host.request(CID.CID_GROUP_DISMISS_REQUEST, body, CID.CID_GROUP_DISMISS_RESPONSE, (b) => IM.Group.IMGroupDismissRsp.decode(b), opts);
    return refusedUnlessZero('dismissGroup', res.resultCode, res);
  }

  /** Removes members (the owner anyone, an admin plain members only). */
  async kickFromGroup(groupId: number, memberIds: readonly number[], opts: GroupRequestOptions = {}): Promise<IM.Group.IMGroupKickRsp> {
    const userId = this.host.requireUserId('kickFromGroup');
    const body = IM.Group.IMGroupKickReq.encode({ userId, groupId: uint32('groupId', groupId), memberIdList: memberIds.map((id) => uint32('memberId', id)) }).finish();
    const res = await this.host.request(CID.CID_GROUP_KICK_REQUEST, body, CID.CID_GROUP_KICK_RESPONSE, (b) => IM.Group.IMGroupKickRsp.decode(b), opts);
    return refusedUnlessZero('kickFromGroup', res.resultCode, res);
  }

  /** Makes a member an admin (true) or a plain member again (false); owner only. */
  async setGroupAdmin(groupId: number, memberId: number, isAdmin: boolean, opts: GroupRequestOptions = {}): Promise<IM.Group.IMGroupSetAdminRsp> {
    const userId = this.host.requireUserId('setGroupAdmin');
    const body = IM.Group.IMGroupSetAdminReq.encode({ userId, groupId: uint32('groupId', groupId), memberId: uint32('memberId', memberId), isAdmin: isAdmin ? 1 : 0 }).finish();
    const res = await this.host.request(CID.CID_GROUP_SET_ADMIN_REQUEST, body, CID.CID_GROUP_SET_ADMIN_RESPONSE, (b) => IM.Group.IMGroupSetAdminRsp.decode(b), opts);
    return refusedUnlessZero('setGroupAdmin', res.resultCode, res);
  }

  /**
   * Mutes one member (memberId) or the whole group (memberId 0) for `seconds`;
   * 0 seconds unmutes. Owner or admin; admins cannot mute admins.
   */
  async muteGroupMember(groupId: number, memberId: number, seconds: number, opts: GroupRequestOptions = {}): Promise<IM.Group.IMGroupMuteRsp> {
    const userId = this.host.requireUserId('muteGroupMember');
    const body = IM.Group.IMGroupMuteReq.encode({
      userId,
      groupId: uint32('groupId', groupId),
      memberId: uint32('memberId', memberId),
      muteSeconds: uint32('seconds', seconds),
    }).finish();
    const res = await this.host.request(CID.CID_GROUP_MUTE_REQUEST, body, CID.CID_GROUP_MUTE_RESPONSE, (b) => IM.Group.IMGroupMuteRsp.decode(b), opts);
    return refusedUnlessZero('muteGroupMember', res.resultCode, res);
  }
}
