import type * as grpc from '@grpc/grpc-js';
import { IM, nowSec, tiertalk } from '@tiertalk/proto';
import type { DomainDeps } from '../../domain-deps';
import { GroupMembersCache, ROLE_ADMIN, WHOLE_GROUP } from '../../store/group-members';
import { GroupStore, groupSetKey, LockedGroup, shieldField } from '../../store/group-store';
import { RequestError, unary } from '../../unary';

const { GROUP_TYPE_NORMAL, GROUP_TYPE_TMP } = IM.BaseDefine.GroupType;
const { GROUP_MODIFY_TYPE_ADD, GROUP_MODIFY_TYPE_DEL } = IM.BaseDefine.GroupModifyType;
const { GROUP_ADMIN_OK, GROUP_ADMIN_FAILED, GROUP_ADMIN_NOT_ALLOWED, GROUP_ADMIN_NO_SUCH_GROUP, GROUP_ADMIN_LIMIT_REACHED } = IM.Group.GroupAdminResult;
// TeamTalk's own group commands answer 0 (ok) or 1 (refused) (docs/FLOWS.md §10.3, §10.4).
const TT_OK = 0;
const TT_FAILED = 1;
// IMGroup.name / avatar are varchar(256).
const MAX_FIELD_CHARS = 256;
// Group ids in one IMGroupInfoListReq (the gateway's TT_MAX_LIST_GROUP_IDS default); more is refused.
export const GROUP_INFO_MAX_IDS = 1000;
// IMGroupMuteReq.mute_seconds: at most a year, so muteUntil stays a valid uint32.
const MAX_MUTE_SECONDS = 366 * 24 * 3600;

export interface GroupLimits {
  memberLimit: number;
  adminLimit: number;
}

type Role = 'owner' | 'admin' | 'member' | 'none';

function roleIn(g: LockedGroup, userId: number): Role {
  if (!g.members.has(userId)) return 'none';
  if (g.group.creator === userId) return 'owner';
  return g.admins.has(userId) ? 'admin' : 'member';
}

const sorted = (ids: Iterable<number>): number[] => [...ids].sort((a, b) => a - b);

/** Distinct non-zero ids, in request order. */
function cleanIds(ids: readonly number[]): number[] {
  return [...new Set(ids.filter((id) => Number.isInteger(id) && id > 0))];
}

function requireUser(userId: number): void {
  if (!(userId > 0)) throw new RequestError('request_invalid', 'user_id is 0');
}

/** The IMGroupAdminNotify-able outcome of a locked change (what the rollback-or-commit helper needs). */
interface Change {
  ok: boolean;
  code: number;
  added?: Map<number, number>;
  removed?: number[];
  members?: Set<number>;
  muteUntil?: number;
}

/**
 * TeamTalk's group commands (docs/FLOWS.md §10.1, §10.3–10.5) and TierTalk's
 * administration (IM.Group extensions). Every command checks the caller's
 * role against MySQL inside the group's locked transaction; a non-member gets
 * nothing (NO_SUCH_GROUP / an empty answer), never another group's data.
 */
export function groupRpc(deps: DomainDeps, limits: GroupLimits): grpc.UntypedServiceImplementation {
  const { mysql, redis, log } = deps;
  const cache = new GroupMembersCache(mysql.master, redis.groupMember);
  const store = new GroupStore(mysql.master, cache, redis.groupMember, redis.groupSet, redis.unread, redis.sync);

  /** Runs a locked change and, when it committed, brings Redis in step. */
  async function change(groupId: number, fn: (g: LockedGroup, now: number) => Promise<Change>): Promise<Change> {
    if (!(groupId > 0)) return { ok: false, code: GROUP_ADMIN_NO_SUCH_GROUP };
    const now = nowSec();
    const result = await store.withLockedGroup(groupId, (g) => fn(g, now));
    if (result === undefined) return { ok: false, code: GROUP_ADMIN_NO_SUCH_GROUP };
    if (result.ok && (result.added !== undefined || result.removed !== undefined)) {
      await store.afterMemberChange(groupId, result.added ?? new Map(), result.removed ?? []);
    }
    return result;
  }

  /** Members leave (quit, kick, DEL): rows, roles, sessions; version + 1. */
  async function removeMembers(g: LockedGroup, userIds: readonly number[], now: number): Promise<Change> {
    await store.removeMemberRows(g.conn, g.group.id, userIds, now);
    const members = new Set([...g.members].filter((uid) => !userIds.includes(uid)));
    await store.bumpVersion(g.conn, g.group.id, members.size, now);
    return { ok: true, code: GROUP_ADMIN_OK, removed: [...userIds], members };
  }

  return {
    NormalGroupList: unary('NormalGroupList', log, async (req: IM.Group.IMNormalGroupListReq) => {
      requireUser(req.userId);
      const ids = await store.groupIdsOf(req.userId);
      const groups = await store.groups(ids);
      // docs/FLOWS.md §10.1: only NORMAL groups, in membership order.
      const groupVersionList = ids.flatMap((id) => {
        const g = groups.get(id);
        return g !== undefined && g.type === GROUP_TYPE_NORMAL ? [{ groupId: id, version: g.version }] : [];
      });
      return IM.Group.IMNormalGroupListRsp.create({ userId: req.userId, groupVersionList });
    }),

    GroupInfo: unary('GroupInfo', log, async (req: IM.Group.IMGroupInfoListReq) => {
      requireUser(req.userId);
      if (req.groupVersionList.length > GROUP_INFO_MAX_IDS) {
        throw new RequestError('request_invalid', `${req.groupVersionList.length} group ids in one request (at most ${GROUP_INFO_MAX_IDS})`, 'request_list_too_long');
      }
      const asked = new Map<number, number>();
      for (const v of req.groupVersionList) if (v.groupId > 0) asked.set(v.groupId, v.version);
      const ids = [...asked.keys()];
      const [membersByGroup, groups] = await Promise.all([cache.membersOf(ids), store.groups(ids)]);
      const mine = ids.filter((gid) => membersByGroup.get(gid)?.has(req.userId) === true);
      if (mine.length < ids.length) log.info({ userId: req.userId, refused: ids.filter((gid) => !mine.includes(gid)) }, 'group info of groups the user is not in: skipped');
      const changed = mine.filter((gid) => (groups.get(gid)?.version ?? 0) > (asked.get(gid) ?? 0));
      const shields = changed.length === 0 ? [] : await Promise.all(changed.map((gid) => redis.groupSet.hget(groupSetKey(gid), shieldField(req.userId))));
      const groupInfoList = changed.flatMap((gid, i) => {
        const g = groups.get(gid);
        if (g === undefined) return [];
        return [
          {
            groupId: gid,
            version: g.version,
            groupName: g.name,
            groupAvatar: g.avatar,
            groupCreatorId: g.creator,
            groupType: g.type === GROUP_TYPE_NORMAL ? GROUP_TYPE_NORMAL : GROUP_TYPE_TMP,
            shieldStatus: Number(shields[i] ?? 0) === 1 ? 1 : 0,
            groupMemberList: sorted(membersByGroup.get(gid)?.keys() ?? []),
          },
        ];
      });
      return IM.Group.IMGroupInfoListRsp.create({ userId: req.userId, groupInfoList });
    }),

    GroupCreate: unary('GroupCreate', log, async (req: IM.Group.IMGroupCreateReq) => {
      requireUser(req.userId);
      const refuse = (reason: string): IM.Group.IMGroupCreateRsp => {
        log.info({ userId: req.userId, reason }, 'group create refused');
        return IM.Group.IMGroupCreateRsp.create({ userId: req.userId, resultCode: TT_FAILED, groupName: req.groupName, userIdList: [] });
      };
      // docs/FLOWS.md §10.3: clients may create only temporary groups, and the gateway drops their
      // NORMAL creates; db-proxy, as TeamTalk's, creates either type (the operator's admin CLI
      // makes fixed groups).
      if (req.groupType !== GROUP_TYPE_TMP && req.groupType !== GROUP_TYPE_NORMAL) return refuse(`unknown group type ${req.groupType}`);
      if ([...req.groupName].length > MAX_FIELD_CHARS || [...req.groupAvatar].length > MAX_FIELD_CHARS) return refuse('name or avatar too long');
      const asked = cleanIds(req.memberIdList);
      if (asked.length === 0) return refuse('no members');
      if (asked.length > limits.memberLimit) return refuse(`more than ${limits.memberLimit} members`);
      const existing = await store.existingUsers(asked);
      const memberIds = asked.filter((uid) => existing.has(uid));
      if (memberIds.length === 0) return refuse('no existing members');
      const groupId = await store.create(req.userId, req.groupType, req.groupName, req.groupAvatar, memberIds, nowSec());
      return IM.Group.IMGroupCreateRsp.create({ userId: req.userId, resultCode: TT_OK, groupId, groupName: req.groupName, userIdList: memberIds });
    }),

    GroupChangeMember: unary('GroupChangeMember', log, async (req: IM.Group.IMGroupChangeMemberReq) => {
      requireUser(req.userId);
      const asked = cleanIds(req.memberIdList);
      const add = req.changeType === GROUP_MODIFY_TYPE_ADD;
      if (!add && req.changeType !== GROUP_MODIFY_TYPE_DEL) throw new RequestError('request_invalid', `unknown change type ${req.changeType}`);
      const existing = add ? await store.existingUsers(asked) : new Set(asked);
      const result = await change(req.groupId, async (g, now) => {
        const role = roleIn(g, req.userId);
        if (role === 'none') return { ok: false, code: GROUP_ADMIN_NO_SUCH_GROUP };
        if (add) {
          // docs/FLOWS.md §10.4: any member on a TMP group; on a NORMAL group the owner or (TierTalk) an admin.
          if (g.group.type !== GROUP_TYPE_TMP && role !== 'owner' && role !== 'admin') return { ok: false, code: GROUP_ADMIN_NOT_ALLOWED };
          const joining = asked.filter((uid) => existing.has(uid) && !g.members.has(uid));
          if (g.members.size + joining.length > limits.memberLimit) return { ok: false, code: GROUP_ADMIN_LIMIT_REACHED };
          await store.addMemberRows(g.conn, g.group.id, joining, now);
          const members = new Set([...g.members, ...joining]);
          await store.bumpVersion(g.conn, g.group.id, members.size, now);
          return { ok: true, code: GROUP_ADMIN_OK, added: new Map(joining.map((uid) => [uid, now])), members };
        }
        // DEL: the owner only (TeamTalk); the owner cannot remove themself (they dismiss).
        if (role !== 'owner') return { ok: false, code: GROUP_ADMIN_NOT_ALLOWED };
        if (asked.includes(g.group.creator)) return { ok: false, code: GROUP_ADMIN_NOT_ALLOWED };
        return removeMembers(
          g,
          asked.filter((uid) => g.members.has(uid)),
          now,
        );
      });
      if (!result.ok) log.info({ userId: req.userId, groupId: req.groupId, changeType: req.changeType, code: result.code }, 'group member change refused');
      return IM.Group.IMGroupChangeMemberRsp.create({
        userId: req.userId,
        changeType: req.changeType,
        resultCode: result.ok ? TT_OK : TT_FAILED,
        groupId: req.groupId,
        curUserIdList: result.ok ? sorted(result.members ?? []) : [],
        chgUserIdList: result.ok ? asked : [],
      });
    }),

    GroupShield: unary('GroupShield', log, async (req: IM.Group.IMGroupShieldReq) => {
      requireUser(req.userId);
      const members = await cache.members(req.groupId);
      if (members?.has(req.userId) !== true) {
        log.info({ userId: req.userId, groupId: req.groupId }, 'group shield of a group the user is not in: refused');
        return IM.Group.IMGroupShieldRsp.create({ userId: req.userId, groupId: req.groupId, resultCode: TT_FAILED });
      }
      await redis.groupSet.hset(groupSetKey(req.groupId), shieldField(req.userId), req.shieldStatus === 1 ? '1' : '0');
      return IM.Group.IMGroupShieldRsp.create({ userId: req.userId, groupId: req.groupId, resultCode: TT_OK });
    }),

    // Internal (gateway push path, docs/FLOWS.md §10.2 step 5): shield status of the given members.
    GroupGetShield: unary('GroupGetShield', log, async (req: IM.Server.IMGroupGetShieldReq) => {
      const userIds = cleanIds(req.userId);
      const values = userIds.length === 0 ? [] : await redis.groupSet.hmget(groupSetKey(req.groupId), ...userIds.map(shieldField));
      const shieldStatusList = userIds.map((uid, i) => ({ userId: uid, groupId: req.groupId, shieldStatus: values[i] === '1' ? 1 : 0 }));
      return IM.Server.IMGroupGetShieldRsp.create({ groupId: req.groupId, shieldStatusList });
    }),

    // Internal: members and version; version 0 when the group is missing or dismissed.
    GroupMembers: unary('GroupMembers', log, async (req: tiertalk.GroupMembersReq) => {
      const [members, groups] = await Promise.all([cache.members(req.groupId), store.groups(req.groupId > 0 ? [req.groupId] : [])]);
      const g = groups.get(req.groupId);
      if (g === undefined || g.status !== 0 || members === undefined) return tiertalk.GroupMembersRsp.create({ groupId: req.groupId, memberIds: [], version: 0 });
      return tiertalk.GroupMembersRsp.create({ groupId: req.groupId, memberIds: sorted(members.keys()), version: g.version });
    }),

    GroupQuit: unary('GroupQuit', log, async (req: IM.Group.IMGroupQuitReq) => {
      requireUser(req.userId);
      const result = await change(req.groupId, async (g, now) => {
        const role = roleIn(g, req.userId);
        if (role === 'none') return { ok: false, code: GROUP_ADMIN_NO_SUCH_GROUP };
        if (role === 'owner') return { ok: false, code: GROUP_ADMIN_NOT_ALLOWED };
        return removeMembers(g, [req.userId], now);
      });
      logRefusal('GroupQuit', req.userId, req.groupId, result);
      return IM.Group.IMGroupQuitRsp.create({ userId: req.userId, groupId: req.groupId, resultCode: result.code });
    }),

    GroupDismiss: unary('GroupDismiss', log, async (req: IM.Group.IMGroupDismissReq) => {
      requireUser(req.userId);
      let former: number[] = [];
      const result = await change(req.groupId, async (g, now) => {
        if (roleIn(g, req.userId) === 'none') return { ok: false, code: GROUP_ADMIN_NO_SUCH_GROUP };
        if (roleIn(g, req.userId) !== 'owner') return { ok: false, code: GROUP_ADMIN_NOT_ALLOWED };
        former = [...g.members];
        await store.dismissRows(g.conn, g.group.id, now);
        return { ok: true, code: GROUP_ADMIN_OK };
      });
      if (result.ok) await store.afterDismiss(req.groupId, former);
      logRefusal('GroupDismiss', req.userId, req.groupId, result);
      return IM.Group.IMGroupDismissRsp.create({ userId: req.userId, groupId: req.groupId, resultCode: result.code });
    }),

    GroupKick: unary('GroupKick', log, async (req: IM.Group.IMGroupKickReq) => {
      requireUser(req.userId);
      const asked = cleanIds(req.memberIdList);
      const result = await change(req.groupId, async (g, now) => {
        const role = roleIn(g, req.userId);
        if (role === 'none') return { ok: false, code: GROUP_ADMIN_NO_SUCH_GROUP };
        const targets = asked.filter((uid) => g.members.has(uid));
        if (targets.length === 0) return { ok: false, code: GROUP_ADMIN_FAILED };
        // The owner kicks anyone but themself; an admin only plain members.
        const allowed = targets.every((uid) => {
          const target = roleIn(g, uid);
          return role === 'owner' ? target !== 'owner' : role === 'admin' && target === 'member';
        });
        if (!allowed) return { ok: false, code: GROUP_ADMIN_NOT_ALLOWED };
        return removeMembers(g, targets, now);
      });
      logRefusal('GroupKick', req.userId, req.groupId, result);
      return IM.Group.IMGroupKickRsp.create({
        userId: req.userId,
        groupId: req.groupId,
        resultCode: result.code,
        curUserIdList: result.ok ? sorted(result.members ?? []) : [],
        chgUserIdList: result.ok ? (result.removed ?? []) : [],
      });
    }),

    GroupSetAdmin: unary('GroupSetAdmin', log, async (req: IM.Group.IMGroupSetAdminReq) => {
      requireUser(req.userId);
      const makeAdmin = req.isAdmin === 1;
      const result = await change(req.groupId, async (g, now) => {
        const role = roleIn(g, req.userId);
        if (role === 'none') return { ok: false, code: GROUP_ADMIN_NO_SUCH_GROUP };
        if (role !== 'owner') return { ok: false, code: GROUP_ADMIN_NOT_ALLOWED };
        const target = roleIn(g, req.memberId);
        if (target === 'none' || target === 'owner') return { ok: false, code: GROUP_ADMIN_FAILED };
        if (makeAdmin && target !== 'admin' && g.admins.size >= limits.adminLimit) return { ok: false, code: GROUP_ADMIN_LIMIT_REACHED };
        await store.setRole(g.conn, g.group.id, req.memberId, makeAdmin ? ROLE_ADMIN : 0, now);
        await store.bumpVersion(g.conn, g.group.id, g.members.size, now);
        return { ok: true, code: GROUP_ADMIN_OK };
      });
      logRefusal('GroupSetAdmin', req.userId, req.groupId, result);
      return IM.Group.IMGroupSetAdminRsp.create({
        userId: req.userId,
        groupId: req.groupId,
        memberId: req.memberId,
        isAdmin: makeAdmin ? 1 : 0,
        resultCode: result.code,
      });
    }),

    GroupMute: unary('GroupMute', log, async (req: IM.Group.IMGroupMuteReq) => {
      requireUser(req.userId);
      const result = await change(req.groupId, async (g, now) => {
        const role = roleIn(g, req.userId);
        if (role === 'none') return { ok: false, code: GROUP_ADMIN_NO_SUCH_GROUP };
        if (role !== 'owner' && role !== 'admin') return { ok: false, code: GROUP_ADMIN_NOT_ALLOWED };
        if (req.muteSeconds > MAX_MUTE_SECONDS) return { ok: false, code: GROUP_ADMIN_FAILED };
        if (req.memberId !== WHOLE_GROUP) {
          const target = roleIn(g, req.memberId);
          if (target === 'none') return { ok: false, code: GROUP_ADMIN_FAILED };
          // Nobody mutes the owner; admins mute plain members only.
          if (target === 'owner' || (role === 'admin' && target === 'admin')) return { ok: false, code: GROUP_ADMIN_NOT_ALLOWED };
        }
        const muteUntil = req.muteSeconds === 0 ? 0 : now + req.muteSeconds;
        await store.setMute(g.conn, g.group.id, req.memberId, muteUntil, now);
        await store.bumpVersion(g.conn, g.group.id, g.members.size, now);
        return { ok: true, code: GROUP_ADMIN_OK, muteUntil };
      });
      logRefusal('GroupMute', req.userId, req.groupId, result);
      return IM.Group.IMGroupMuteRsp.create({
        userId: req.userId,
        groupId: req.groupId,
        memberId: req.memberId,
        muteUntil: result.ok ? (result.muteUntil ?? 0) : 0,
        resultCode: result.code,
      });
    }),
  };

  function logRefusal(method: string, userId: number, groupId: number, result: Change): void {
    if (!result.ok) log.info({ method, userId, groupId, code: result.code }, 'group administration refused');
  }
}
