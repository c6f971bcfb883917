// What the operator's group administration does for each command: the same DbProxy
// group RPCs the gateway calls for a client, acting as the group's owner
// (IMGroup.creator) or `--as`, then the same notifies members get from a
// client-made change (docs/FLOWS.md §10.4 IMGroupChangeMemberNotify; the TierTalk
// IMGroupAdminNotify), written to route as one EnvelopeBatch.
import { CID, DbProxyService, IM, tiertalk } from '@tiertalk/proto';
import type { OpsLink } from './cluster-link';
import { OpsError } from './errors';
import type { OpsOutput } from './output';

export type GroupCommand =
  | { kind: 'list'; userId: number }
  | { kind: 'info'; groupId: number }
  | { kind: 'members'; groupId: number }
  | { kind: 'create'; name: string; ownerId: number; memberIds: number[]; temporary: boolean; avatar: string }
  | { kind: 'add' | 'remove'; groupId: number; userIds: number[] }
  | { kind: 'set-admin' | 'unset-admin'; groupId: number; userId: number }
  | { kind: 'mute'; groupId: number; memberId: number; seconds: number }
  | { kind: 'unmute'; groupId: number; memberId: number }
  | { kind: 'dismiss'; groupId: number };

export interface GroupInvocation {
  command: GroupCommand;
  /** Act as this user instead of the group's owner. */
  asUserId: number | undefined;
}

class RefusedError extends OpsError {
  constructor(message: string) {
    super('refused', message);
  }
}

class NoGroupError extends OpsError {
  constructor(message: string) {
    super('not_found', message);
  }
}

const Action = IM.Group.GroupAdminAction;
const ADD = IM.BaseDefine.GroupModifyType.GROUP_MODIFY_TYPE_ADD;
const DEL = IM.BaseDefine.GroupModifyType.GROUP_MODIFY_TYPE_DEL;

function resultName(code: number): string {
  return IM.Group.GroupAdminResult[code] ?? String(code);
}

function okOrRefused(what: string, resultCode: number): void {
  if (resultCode !== 0) throw new RefusedError(`${what} refused: result_code ${resultCode} (${resultName(resultCode)})`);
}

interface GroupView {
  info: IM.BaseDefine.GroupInfo.$Properties;
  members: number[];
}

async function members(link: OpsLink, groupId: number): Promise<number[]> {
  const res = await link.call(DbProxyService.GroupMembers, tiertalk.GroupMembersReq.create({ groupId }));
  if (res.version === 0) throw new NoGroupError(`no such group ${groupId} (unknown or dismissed)`);
  return res.memberIds;
}

/** Group info read as a member (docs/FLOWS.md §10.1 answers members only): `--as`, else the first member. */
async function view(link: OpsLink, groupId: number, asUserId: number | undefined): Promise<GroupView> {
  const memberIds = await members(link, groupId);
  const reader = asUserId ?? memberIds[0];
  if (reader === undefined) throw new RefusedError(`group ${groupId} has no members`);
  const res = await link.call(DbProxyService.GroupInfo, IM.Group.IMGroupInfoListReq.create({ userId: reader, groupVersionList: [{ groupId, version: 0 }] }));
  const info = res.groupInfoList.find((g) => g.groupId === groupId);
  if (!info) throw new RefusedError(`no info for group ${groupId} as user ${reader} (not a member?)`);
  return { info, members: memberIds };
}

/** Who acts: `--as`, else the group's owner (IMGroup.creator). */
async function actor(link: OpsLink, groupId: number, asUserId: number | undefined): Promise<{ actorId: number; members: number[] }> {
  if (asUserId !== undefined) return { actorId: asUserId, members: await members(link, groupId) };
  const v = await view(link, groupId, undefined);
  return { actorId: v.info.groupCreatorId, members: v.members };
}

function changeNotify(to: readonly number[], n: IM.Group.IMGroupChangeMemberNotify.$Properties): tiertalk.Envelope.$Properties {
  return { commandId: CID.CID_GROUP_CHANGE_MEMBER_NOTIFY, body: IM.Group.IMGroupChangeMemberNotify.encode(n).finish(), toUserIds: [...new Set(to)] };
}

function adminNotify(to: readonly number[], n: IM.Group.IMGroupAdminNotify.$Properties): tiertalk.Envelope.$Properties {
  return { commandId: CID.CID_GROUP_ADMIN_NOTIFY, body: IM.Group.IMGroupAdminNotify.encode(n).finish(), toUserIds: [...new Set(to)] };
}

function describe(v: GroupView): string[] {
  const type = v.info.groupType === IM.BaseDefine.GroupType.GROUP_TYPE_NORMAL ? 'normal' : 'temporary';
  return [
    `group ${v.info.groupId} "${v.info.groupName}" (${type}), owner ${v.info.groupCreatorId}, version ${v.info.version}`,
    `avatar: ${v.info.groupAvatar || '-'}`,
    `members (${v.members.length}): ${v.members.join(' ')}`,
  ];
}

export async function runGroupCommand(link: OpsLink, inv: GroupInvocation): Promise<OpsOutput> {
  const cmd: GroupCommand = inv.command;
  switch (cmd.kind) {
    case 'list': {
      const res = await link.call(DbProxyService.NormalGroupList, IM.Group.IMNormalGroupListReq.create({ userId: cmd.userId }));
      const groups = res.groupVersionList.map((g) => ({ groupId: g.groupId, version: g.version }));
      return { lines: groups.length === 0 ? [`user ${cmd.userId} is in no NORMAL group`] : groups.map((g) => `group ${g.groupId} version ${g.version}`), json: groups };
    }
    case 'info': {
      const v = await view(link, cmd.groupId, inv.asUserId);
      return { lines: describe(v), json: { ...v.info, groupMemberList: v.members } };
    }
    case 'members': {
      const ids = await members(link, cmd.groupId);
      return { lines: [ids.join(' ')], json: ids };
    }
    case 'create': {
      const groupType = cmd.temporary ? IM.BaseDefine.GroupType.GROUP_TYPE_TMP : IM.BaseDefine.GroupType.GROUP_TYPE_NORMAL;
      const res = await link.call(
        DbProxyService.GroupCreate,
        IM.Group.IMGroupCreateReq.create({ userId: cmd.ownerId, groupType, groupName: cmd.name, groupAvatar: cmd.avatar, memberIdList: cmd.memberIds }),
      );
      okOrRefused('create', res.resultCode);
      const groupId = res.groupId ?? 0;
      // TeamTalk notifies nobody on create (docs/FLOWS.md §10.3); an operator's group
      // would stay invisible to its members until its first message, so they get
      // the ADD notify a later member would get.
      await link.deliver([changeNotify(cmd.memberIds, { userId: cmd.ownerId, changeType: ADD, groupId, curUserIdList: cmd.memberIds, chgUserIdList: cmd.memberIds })]);
      return { lines: [`created group ${groupId} "${cmd.name}" owner ${cmd.ownerId} members ${cmd.memberIds.join(' ')}`], json: { groupId, members: cmd.memberIds } };
    }
    case 'add':
    case 'remove': {
      const { actorId } = await actor(link, cmd.groupId, inv.asUserId);
      const changeType = cmd.kind === 'add' ? ADD : DEL;
      const res = await link.call(
        DbProxyService.GroupChangeMember,
        IM.Group.IMGroupChangeMemberReq.create({ userId: actorId, changeType, groupId: cmd.groupId, memberIdList: cmd.userIds }),
      );
      okOrRefused(cmd.kind, res.resultCode);
      // docs/FLOWS.md §10.4 step 3: current and changed members are told.
      await link.deliver([
        changeNotify([...res.curUserIdList, ...res.chgUserIdList], {
          userId: actorId,
          changeType,
          groupId: cmd.groupId,
          curUserIdList: res.curUserIdList,
          chgUserIdList: res.chgUserIdList,
        }),
      ]);
      return {
        lines: [`${cmd.kind === 'add' ? 'added' : 'removed'} ${res.chgUserIdList.join(' ')}; members now ${res.curUserIdList.join(' ')}`],
        json: { groupId: cmd.groupId, changed: res.chgUserIdList, members: res.curUserIdList },
      };
    }
    case 'set-admin':
    case 'unset-admin': {
      const { actorId } = await actor(link, cmd.groupId, inv.asUserId);
      const isAdmin = cmd.kind === 'set-admin' ? 1 : 0;
      const res = await link.call(DbProxyService.GroupSetAdmin, IM.Group.IMGroupSetAdminReq.create({ userId: actorId, groupId: cmd.groupId, memberId: cmd.userId, isAdmin }));
      okOrRefused(cmd.kind, res.resultCode);
      const now = await members(link, cmd.groupId);
      await link.deliver([
        adminNotify(now, { operatorId: actorId, groupId: cmd.groupId, action: isAdmin ? Action.GROUP_ACTION_SET_ADMIN : Action.GROUP_ACTION_UNSET_ADMIN, memberIdList: [cmd.userId], curUserIdList: now }),
      ]);
      return { lines: [`${cmd.userId} is ${isAdmin ? 'now an admin' : 'no longer an admin'} of group ${cmd.groupId}`], json: { groupId: cmd.groupId, memberId: cmd.userId, isAdmin } };
    }
    case 'mute':
    case 'unmute': {
      const { actorId, members: now } = await actor(link, cmd.groupId, inv.asUserId);
      const seconds = cmd.kind === 'mute' ? cmd.seconds : 0;
      const res = await link.call(
        DbProxyService.GroupMute,
        IM.Group.IMGroupMuteReq.create({ userId: actorId, groupId: cmd.groupId, memberId: cmd.memberId, muteSeconds: seconds }),
      );
      okOrRefused(cmd.kind, res.resultCode);
      const whole = cmd.memberId === 0;
      const action = seconds > 0 ? (whole ? Action.GROUP_ACTION_MUTE_ALL : Action.GROUP_ACTION_MUTE_MEMBER) : whole ? Action.GROUP_ACTION_UNMUTE_ALL : Action.GROUP_ACTION_UNMUTE_MEMBER;
      await link.deliver([
        adminNotify(now, { operatorId: actorId, groupId: cmd.groupId, action, memberIdList: whole ? [] : [cmd.memberId], muteUntil: res.muteUntil, curUserIdList: now }),
      ]);
      const who = whole ? `group ${cmd.groupId}` : `member ${cmd.memberId} of group ${cmd.groupId}`;
      const line = seconds > 0 ? `${who} muted until ${new Date(res.muteUntil * 1000).toISOString()}` : `${who} unmuted`;
      return { lines: [line], json: { groupId: cmd.groupId, memberId: cmd.memberId, muteUntil: res.muteUntil } };
    }
    case 'dismiss': {
      const { actorId, members: before } = await actor(link, cmd.groupId, inv.asUserId);
      const res = await link.call(DbProxyService.GroupDismiss, IM.Group.IMGroupDismissReq.create({ userId: actorId, groupId: cmd.groupId }));
      okOrRefused('dismiss', res.resultCode);
      // Everyone who was a member learns the group is gone.
      await link.deliver([adminNotify(before, { operatorId: actorId, groupId: cmd.groupId, action: Action.GROUP_ACTION_DISMISS, memberIdList: [], curUserIdList: [] })]);
      return { lines: [`dismissed group ${cmd.groupId} (${before.length} members told)`], json: { groupId: cmd.groupId, members: before } };
    }
  }
}
