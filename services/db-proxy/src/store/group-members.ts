import { batch, type RedisClient } from '@tiertalk/redis';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { redisKeys } from './keys';

// Group membership as TeamTalk's db-proxy keeps it (docs/STORAGE.md §2): the Redis
// hash `group_member_<gid>` (field = user id, value = join time) is what the
// send path and the group commands consult. docs/STORAGE.md §2 "What has to
// hold": a missing hash is rebuilt from IMGroupMember (status 0, value =
// created) of a live group (IMGroup.status 0) instead of treating the group as
// gone, so a flushed cache heals itself. A dismissed group (status 1) has no
// live members and stays gone.

interface MemberRow extends RowDataPacket {
  groupId: number;
  userId: number;
  created: number;
}

interface RoleRow extends RowDataPacket {
  groupId: number;
  userId: number;
  role: number;
  muteUntil: number;
}

interface CreatorRow extends RowDataPacket {
  id: number;
  creator: number;
}

/** IMGroupAdmin.role of an admin (0 = plain member, row kept for a mute). */
export const ROLE_ADMIN = 1;
/** IMGroupAdmin.userId of the group-wide mute row. */
export const WHOLE_GROUP = 0;

/** Members of a group: user id → join time (UNIX seconds). */
export type Members = Map<number, number>;

export interface GroupRoles {
  admins: Set<number>;
  /** user id → muteUntil, only members with a mute row. */
  mutedUntil: Map<number, number>;
  /** Group-wide mute end (0 = none). */
  groupMutedUntil: number;
}

export class GroupMembersCache {
  constructor(
    private readonly master: Pool,
    private readonly groupMemberRedis: RedisClient,
  ) {}

  /** Members of each group (one pipeline, one MySQL query for the missing ones); a group that is unknown or dismissed is absent. */
  async membersOf(groupIds: readonly number[]): Promise<Map<number, Members>> {
    const ids = [...new Set(groupIds)];
    const out = new Map<number, Members>();
    if (ids.length === 0) return out;
    const pipeline = batch(this.groupMemberRedis);
    for (const gid of ids) pipeline.hgetall(redisKeys.groupMembers(gid));
    const results = (await pipeline.exec()) ?? [];
    const missing: number[] = [];
    ids.forEach((gid, i) => {
      const [err, value] = results[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      const members = toMembers(value);
      if (members.size > 0) out.set(gid, members);
      else missing.push(gid);
    });
    if (missing.length > 0) for (const [gid, members] of await this.rebuild(missing)) out.set(gid, members);
    return out;
  }

  async members(groupId: number): Promise<Members | undefined> {
    return (await this.membersOf([groupId])).get(groupId);
  }

  /** Reloads the hashes of these groups from MySQL and writes them back (HSET only adds: a concurrent change's HDEL after its commit is not undone, its row is already status 1). */
  private async rebuild(groupIds: readonly number[]): Promise<Map<number, Members>> {
    const [rows] = await this.master.query<MemberRow[]>(
      `SELECT m.groupId, m.userId, MAX(m.created) AS created FROM IMGroupMember m JOIN IMGroup g ON g.id = m.groupId
       WHERE m.groupId IN (${groupIds.map(() => '?').join(', ')}) AND m.status = 0 AND g.status = 0 GROUP BY m.groupId, m.userId`,
      [...groupIds],
    );
    const out = new Map<number, Members>();
    for (const r of rows) {
      let members = out.get(Number(r.groupId));
      if (members === undefined) out.set(Number(r.groupId), (members = new Map()));
      members.set(Number(r.userId), Number(r.created));
    }
    if (out.size > 0) {
      const pipeline = batch(this.groupMemberRedis);
      for (const [gid, members] of out) {
        const fields: string[] = [];
        for (const [uid, joined] of members) fields.push(String(uid), String(joined));
        pipeline.hset(redisKeys.groupMembers(gid), ...fields);
      }
      const results = (await pipeline.exec()) ?? [];
      for (const [err] of results) if (err) throw err;
    }
    return out;
  }

  /** Admins and mutes of each group (IMGroupAdmin, read from the master so a fresh mute applies to the next commit). */
  async rolesOf(groupIds: readonly number[]): Promise<Map<number, GroupRoles>> {
    const ids = [...new Set(groupIds)];
    const out = new Map<number, GroupRoles>();
    for (const gid of ids) out.set(gid, { admins: new Set(), mutedUntil: new Map(), groupMutedUntil: 0 });
    if (ids.length === 0) return out;
    const [rows] = await this.master.query<RoleRow[]>(
      `SELECT groupId, userId, role, muteUntil FROM IMGroupAdmin WHERE groupId IN (${ids.map(() => '?').join(', ')})`,
      ids,
    );
    for (const r of rows) {
      const roles = out.get(Number(r.groupId));
      if (roles === undefined) continue;
      const uid = Number(r.userId);
      if (uid === WHOLE_GROUP) roles.groupMutedUntil = Number(r.muteUntil);
      else {
        if (Number(r.role) === ROLE_ADMIN) roles.admins.add(uid);
        if (Number(r.muteUntil) > 0) roles.mutedUntil.set(uid, Number(r.muteUntil));
      }
    }
    return out;
  }

  /** IMGroup.creator (the owner) of each group. */
  async creatorsOf(groupIds: readonly number[]): Promise<Map<number, number>> {
    const ids = [...new Set(groupIds)];
    if (ids.length === 0) return new Map();
    const [rows] = await this.master.query<CreatorRow[]>(`SELECT id, creator FROM IMGroup WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
    return new Map(rows.map((r) => [Number(r.id), Number(r.creator)]));
  }
}

function toMembers(value: unknown): Members {
  const members: Members = new Map();
  if (typeof value !== 'object' || value === null) return members;
  for (const [field, joined] of Object.entries(value)) {
    const uid = Number(field);
    if (Number.isInteger(uid) && uid > 0 && joined !== '') members.set(uid, Number(joined));
  }
  return members;
}
