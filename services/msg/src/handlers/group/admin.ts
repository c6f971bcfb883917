import { CID, DbProxyService, IM, tiertalk } from '@tiertalk/proto';
import type { Frame } from '@tiertalk/pdu';
import type { Connection } from '../../conn/connection';
import type { GatewayContext } from '../../gateway-context';
import { forwardToDbProxy } from '../forward';
import { sentFrom } from '../sent-from';

const { GroupAdminAction, GroupAdminResult } = IM.Group;

interface AdminNotice {
  action: IM.Group.GroupAdminAction;
  groupId: number;
  /** The members acted on (empty for group-wide actions). */
  memberIds: readonly number[];
  /** Members after the change. */
  curUserIds: readonly number[];
  /** Who hears of it: the members, and the removed members. */
  audience: readonly number[];
  muteUntil?: number;
}

/**
 * TierTalk extension (README, IM.Group 0x042a): IMGroupAdminNotify to every
 * connection of the audience on every gateway except the requesting
 * connection, as the change-member notify of docs/FLOWS.md §10.4.
 */
function notifyAdminChange(ctx: GatewayContext, conn: Connection, notice: AdminNotice): void {
  const toUserIds = [...new Set(notice.audience)].filter((id) => id > 0);
  if (toUserIds.length === 0) return;
  const body = IM.Group.IMGroupAdminNotify.encode({
    operatorId: conn.userId,
    groupId: notice.groupId,
    action: notice.action,
    memberIdList: [...notice.memberIds],
    muteUntil: notice.muteUntil ?? 0,
    curUserIdList: [...notice.curUserIds],
  }).finish();
  ctx.route.deliver({ commandId: CID.CID_GROUP_ADMIN_NOTIFY, body, toUserIds, ...sentFrom(ctx, conn) });
}

/** The group's current members, or undefined (logged) when db-proxy does not answer. */
async function membersOf(ctx: GatewayContext, conn: Connection, groupId: number): Promise<number[] | undefined> {
  try {
    const rsp = await ctx.db.call(DbProxyService.GroupMembers, tiertalk.GroupMembersReq.create({ groupId }));
    return rsp.memberIds;
  } catch (err) {
    conn.log.warn({ groupId, err }, 'group members lookup failed; admin notify not sent');
    return undefined;
  }
}

/** Runs a notify step after the reply went out, logging instead of throwing. */
function afterwards(conn: Connection, work: Promise<void>): void {
  work.catch((err: unknown) => conn.log.error({ err }, 'group admin notify failed'));
}

/**
 * Quit (0x0420 → 0x0421). The members are read BEFORE the change so the quitter's
 * other devices hear of it too; cur = those members minus the quitter.
 */
export async function onGroupQuitReq(ctx: GatewayContext, conn: Connection, req: IM.Group.IMGroupQuitReq, frame: Frame): Promise<void> {
  const before = req.groupId > 0 ? await membersOf(ctx, conn, req.groupId) : undefined;
  await forwardToDbProxy({
    method: DbProxyService.GroupQuit,
    replyCid: CID.CID_GROUP_QUIT_RESPONSE,
    encodeReply: (res) => IM.Group.IMGroupQuitRsp.encode(res).finish(),
    after: (c, cn, _r, res) => {
      if (res.resultCode !== GroupAdminResult.GROUP_ADMIN_OK || !before) return;
      notifyAdminChange(c, cn, {
        action: GroupAdminAction.GROUP_ACTION_QUIT,
        groupId: res.groupId,
        memberIds: [cn.userId],
        curUserIds: before.filter((id) => id !== cn.userId),
        audience: [...before, cn.userId],
      });
    },
  })(ctx, conn, req, frame);
}

/** Dismiss (0x0422 → 0x0423), owner only (checked by db-proxy). Members read BEFORE: afterwards there are none. */
export async function onGroupDismissReq(ctx: GatewayContext, conn: Connection, req: IM.Group.IMGroupDismissReq, frame: Frame): Promise<void> {
  const before = req.groupId > 0 ? await membersOf(ctx, conn, req.groupId) : undefined;
  await forwardToDbProxy({
    method: DbProxyService.GroupDismiss,
    replyCid: CID.CID_GROUP_DISMISS_RESPONSE,
    encodeReply: (res) => IM.Group.IMGroupDismissRsp.encode(res).finish(),
    after: (c, cn, _r, res) => {
      if (res.resultCode !== GroupAdminResult.GROUP_ADMIN_OK || !before) return;
      notifyAdminChange(c, cn, {
        action: GroupAdminAction.GROUP_ACTION_DISMISS,
        groupId: res.groupId,
        memberIds: [],
        curUserIds: [],
        audience: [...before, cn.userId],
      });
    },
  })(ctx, conn, req, frame);
}

/** Kick (0x0424 → 0x0425): the reply carries cur and the removed members; both hear of it. */
export const onGroupKickReq = forwardToDbProxy({
  method: DbProxyService.GroupKick,
  replyCid: CID.CID_GROUP_KICK_RESPONSE,
  encodeReply: (res) => IM.Group.IMGroupKickRsp.encode(res).finish(),
  after: (ctx: GatewayContext, conn: Connection, _req, res) => {
    if (res.resultCode !== GroupAdminResult.GROUP_ADMIN_OK) return;
    notifyAdminChange(ctx, conn, {
      action: GroupAdminAction.GROUP_ACTION_KICK,
      groupId: res.groupId,
      memberIds: res.chgUserIdList,
      curUserIds: res.curUserIdList,
      audience: [...res.curUserIdList, ...res.chgUserIdList],
    });
  },
});

/** Set or unset an admin (0x0426 → 0x0427), owner only. Members read after the change. */
export const onGroupSetAdminReq = forwardToDbProxy({
  method: DbProxyService.GroupSetAdmin,
  replyCid: CID.CID_GROUP_SET_ADMIN_RESPONSE,
  encodeReply: (res) => IM.Group.IMGroupSetAdminRsp.encode(res).finish(),
  after: (ctx: GatewayContext, conn: Connection, _req, res) => {
    if (res.resultCode !== GroupAdminResult.GROUP_ADMIN_OK) return;
    afterwards(
      conn,
      membersOf(ctx, conn, res.groupId).then((members) => {
        if (!members) return;
        notifyAdminChange(ctx, conn, {
          action: res.isAdmin ? GroupAdminAction.GROUP_ACTION_SET_ADMIN : GroupAdminAction.GROUP_ACTION_UNSET_ADMIN,
          groupId: res.groupId,
          memberIds: [res.memberId],
          curUserIds: members,
          audience: members,
        });
      }),
    );
  },
});

/**
 * Mute (0x0428 → 0x0429): member_id 0 is the whole group; mute_until 0 in the
 * reply means unmuted. Members read after the change.
 */
export const onGroupMuteReq = forwardToDbProxy({
  method: DbProxyService.GroupMute,
  replyCid: CID.CID_GROUP_MUTE_RESPONSE,
  encodeReply: (res) => IM.Group.IMGroupMuteRsp.encode(res).finish(),
  after: (ctx: GatewayContext, conn: Connection, _req, res) => {
    if (res.resultCode !== GroupAdminResult.GROUP_ADMIN_OK) return;
    const wholeGroup = res.memberId === 0;
    const muted = res.muteUntil > 0;
    let action: IM.Group.GroupAdminAction;
    if (wholeGroup) action = muted ? GroupAdminAction.GROUP_ACTION_MUTE_ALL : GroupAdminAction.GROUP_ACTION_UNMUTE_ALL;
    else action = muted ? GroupAdminAction.GROUP_ACTION_MUTE_MEMBER : GroupAdminAction.GROUP_ACTION_UNMUTE_MEMBER;
    afterwards(
      conn,
      membersOf(ctx, conn, res.groupId).then((members) => {
        if (!members) return;
        notifyAdminChange(ctx, conn, {
          action,
          groupId: res.groupId,
          memberIds: wholeGroup ? [] : [res.memberId],
          curUserIds: members,
          audience: members,
          muteUntil: res.muteUntil,
        });
      }),
    );
  },
});
