import { deleteKeys, type RedisClient } from '@tiertalk/redis';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { conversationKeys } from './conversation-index';
import { GroupCounters } from './group-counters';
import { GroupMembersCache, ROLE_ADMIN, WHOLE_GROUP } from './group-members';
import { redisKeys } from './keys';

// Group rows and membership changes (docs/FLOWS.md §10.3, §10.4 and TierTalk's
// administration). Every change runs in a MySQL transaction that locks the
// IMGroup row (FOR UPDATE), so two changes of one group — on one db-proxy or
// two — apply one after the other and each bumps `version` once; Redis
// (group_member_<gid>, unread snapshots) follows after the commit.

export const GROUP_STATUS_ACTIVE = 0;
export const GROUP_STATUS_DISMISSED = 1;

export interface GroupRow {
  id: number;
  name: string;
  avatar: string;
  creator: number;
  type: number;
  status: number;
  version: number;
}

interface GroupDbRow extends RowDataPacket, GroupRow {}
interface IdRow extends RowDataPacket {
  id: number;
}
interface MemberRow extends RowDataPacket {
  userId: number;
  status: number;
}
interface RoleRow extends RowDataPacket {
  userId: number;
  role: number;
  muteUntil: number;
}

const GROUP_COLUMNS = 'id, name, avatar, creator, type, status, version';

/** A group locked inside a transaction, with its live members and admins as MySQL has them. */
export interface LockedGroup {
  conn: PoolConnection;
  group: GroupRow;
  members: Set<number>;
  admins: Set<number>;
}

export class GroupStore {
  readonly counters: GroupCounters;

  constructor(
    readonly master: Pool,
    readonly members: GroupMembersCache,
    private readonly groupMemberRedis: RedisClient,
    readonly groupSetRedis: RedisClient,
    unreadRedis: RedisClient,
    private readonly syncRedis: RedisClient,
  ) {
    this.counters = new GroupCounters(unreadRedis);
  }

  async groups(groupIds: readonly number[]): Promise<Map<number, GroupRow>> {
    if (groupIds.length === 0) return new Map();
    const [rows] = await this.master.query<GroupDbRow[]>(`SELECT ${GROUP_COLUMNS} FROM IMGroup WHERE id IN (${groupIds.map(() => '?').join(', ')})`, [
      ...groupIds,
    ]);
    return new Map(rows.map((r) => [Number(r.id), toGroup(r)]));
  }

  /** Ids of the users that exist (IMUser), so hostile ids never become members. */
  async existingUsers(userIds: readonly number[]): Promise<Set<number>> {
    if (userIds.length === 0) return new Set();
    const [rows] = await this.master.query<IdRow[]>(`SELECT id FROM IMUser WHERE id IN (${userIds.map(() => '?').join(', ')})`, [...userIds]);
    return new Set(rows.map((r) => Number(r.id)));
  }

  /** Groups the user is a member of, most recently changed first (docs/FLOWS.md §10.1). */
  async groupIdsOf(userId: number): Promise<number[]> {
    const [rows] = await this.master.query<RowDataPacket[]>(
      'SELECT groupId, MAX(updated) AS u, MAX(id) AS i FROM IMGroupMember WHERE userId = ? AND status = 0 GROUP BY groupId ORDER BY u DESC, i DESC',
      [userId],
    );
    return rows.map((r) => Number(r.groupId));
  }

  /** IMGroup row of a new group (status 0, version 1, docs/FLOWS.md §10.3) and its members, in one transaction. */
  async create(creator: number, type: number, name: string, avatar: string, memberIds: readonly number[], now: number): Promise<number> {
    const conn = await this.master.getConnection();
    let groupId = 0;
    try {
      await conn.beginTransaction();
      const [res] = await conn.query<ResultSetHeader>(
        'INSERT INTO IMGroup (name, avatar, creator, type, userCnt, status, version, lastChated, updated, created) VALUES (?, ?, ?, ?, ?, 0, 1, 0, ?, ?)',
        [name, avatar, creator, type, memberIds.length, now, now],
      );
      groupId = res.insertId;
      await this.addMemberRows(conn, groupId, memberIds, now);
      await conn.commit();
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
    // A stale hash of a reused id must not survive (docs/FLOWS.md §10.3).
    const key = redisKeys.groupMembers(groupId);
    const fields = memberIds.flatMap((uid) => [String(uid), String(now)]);
    await this.groupMemberRedis.multi().del(key).hset(key, ...fields).exec();
    return groupId;
  }

  /**
   * Runs `change` on the locked group; it returns false to leave everything
   * as it was (rolled back). Returns what `change` returned.
   */
  async withLockedGroup<T extends { ok: boolean }>(groupId: number, change: (g: LockedGroup) => Promise<T>): Promise<T | undefined> {
    const conn = await this.master.getConnection();
    try {
      await conn.beginTransaction();
      const [rows] = await conn.query<GroupDbRow[]>(`SELECT ${GROUP_COLUMNS} FROM IMGroup WHERE id = ? FOR UPDATE`, [groupId]);
      if (rows[0] === undefined || Number(rows[0].status) !== GROUP_STATUS_ACTIVE) {
        await conn.rollback();
        return undefined;
      }
      const [memberRows] = await conn.query<MemberRow[]>('SELECT DISTINCT userId, status FROM IMGroupMember WHERE groupId = ? AND status = 0', [groupId]);
      const [roleRows] = await conn.query<RoleRow[]>('SELECT userId, role, muteUntil FROM IMGroupAdmin WHERE groupId = ? AND role = ?', [groupId, ROLE_ADMIN]);
      const members = new Set(memberRows.map((r) => Number(r.userId)));
      const admins = new Set(roleRows.map((r) => Number(r.userId)).filter((uid) => members.has(uid)));
      const result = await change({ conn, group: toGroup(rows[0]), members, admins });
      if (result.ok) await conn.commit();
      else await conn.rollback();
      return result;
    } catch (err) {
      await conn.rollback().catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  /** New members: rows inserted or re-activated (join time = now, so history starts at the new join). */
  async addMemberRows(conn: PoolConnection, groupId: number, userIds: readonly number[], now: number): Promise<void> {
    if (userIds.length === 0) return;
    const [present] = await conn.query<MemberRow[]>(
      `SELECT DISTINCT userId, 0 AS status FROM IMGroupMember WHERE groupId = ? AND userId IN (${userIds.map(() => '?').join(', ')})`,
      [groupId, ...userIds],
    );
    const known = new Set(present.map((r) => Number(r.userId)));
    const fresh = userIds.filter((uid) => !known.has(uid));
    if (known.size > 0) {
      await conn.query(
        `UPDATE IMGroupMember SET status = 0, created = ?, updated = ? WHERE groupId = ? AND status = 1 AND userId IN (${[...known].map(() => '?').join(', ')})`,
        [now, now, groupId, ...known],
      );
    }
    if (fresh.length > 0) {
      await conn.query(
        `INSERT INTO IMGroupMember (groupId, userId, status, created, updated) VALUES ${fresh.map(() => '(?, ?, 0, ?, ?)').join(', ')}`,
        fresh.flatMap((uid) => [groupId, uid, now, now]),
      );
    }
  }

  /** Removed members: rows status 1, their role and mute rows deleted, their group sessions removed (docs/FLOWS.md §10.4). */
  async removeMemberRows(conn: PoolConnection, groupId: number, userIds: readonly number[], now: number): Promise<void> {
    if (userIds.length === 0) return;
    const list = userIds.map(() => '?').join(', ');
    await conn.query(`UPDATE IMGroupMember SET status = 1, updated = ? WHERE groupId = ? AND status = 0 AND userId IN (${list})`, [now, groupId, ...userIds]);
    await conn.query(`DELETE FROM IMGroupAdmin WHERE groupId = ? AND userId IN (${list})`, [groupId, ...userIds]);
    await conn.query(`UPDATE IMRecentSession SET status = 1, updated = ? WHERE type = 2 AND peerId = ? AND status = 0 AND userId IN (${list})`, [
      now,
      groupId,
      ...userIds,
    ]);
  }

  /** version + 1 and the member count (every successful change). */
  async bumpVersion(conn: PoolConnection, groupId: number, memberCount: number, now: number): Promise<void> {
    await conn.query('UPDATE IMGroup SET version = version + 1, userCnt = ?, updated = ? WHERE id = ?', [memberCount, now, groupId]);
  }

  async setRole(conn: PoolConnection, groupId: number, userId: number, role: number, now: number): Promise<void> {
    await conn.query(
      'INSERT INTO IMGroupAdmin (groupId, userId, role, muteUntil, updated) VALUES (?, ?, ?, 0, ?) ON DUPLICATE KEY UPDATE role = VALUES(role), updated = VALUES(updated)',
      [groupId, userId, role, now],
    );
  }

  /** userId WHOLE_GROUP (0) mutes the whole group. */
  async setMute(conn: PoolConnection, groupId: number, userId: number, muteUntil: number, now: number): Promise<void> {
    await conn.query(
      'INSERT INTO IMGroupAdmin (groupId, userId, role, muteUntil, updated) VALUES (?, ?, 0, ?, ?) ON DUPLICATE KEY UPDATE muteUntil = VALUES(muteUntil), updated = VALUES(updated)',
      [groupId, userId, muteUntil, now],
    );
  }

  async dismissRows(conn: PoolConnection, groupId: number, now: number): Promise<void> {
    await conn.query('UPDATE IMGroup SET status = ?, version = version + 1, userCnt = 0, updated = ? WHERE id = ?', [GROUP_STATUS_DISMISSED, now, groupId]);
    await conn.query('UPDATE IMGroupMember SET status = 1, updated = ? WHERE groupId = ? AND status = 0', [now, groupId]);
    await conn.query('DELETE FROM IMGroupAdmin WHERE groupId = ? AND userId <> ?', [groupId, WHOLE_GROUP]);
    await conn.query('UPDATE IMRecentSession SET status = 1, updated = ? WHERE type = 2 AND peerId = ? AND status = 0', [now, groupId]);
  }

  /** After a committed change: Redis membership in step, changed users' unread reset, removed users' conversation index rebuilt. */
  async afterMemberChange(groupId: number, added: ReadonlyMap<number, number>, removed: readonly number[]): Promise<void> {
    const key = redisKeys.groupMembers(groupId);
    const pipeline = this.groupMemberRedis.pipeline();
    if (added.size > 0) pipeline.hset(key, ...[...added].flatMap(([uid, joined]) => [String(uid), String(joined)]));
    if (removed.length > 0) pipeline.hdel(key, ...removed.map(String));
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    await this.counters.markRead(groupId, [...added.keys(), ...removed]);
    await deleteKeys(this.syncRedis, removed.map((uid) => conversationKeys.conversations(uid)));
  }

  /** After a dismiss: the member hash and settings go; messages and counters stay stored. */
  async afterDismiss(groupId: number, formerMembers: readonly number[]): Promise<void> {
    await this.groupMemberRedis.del(redisKeys.groupMembers(groupId));
    await this.groupSetRedis.del(groupSetKey(groupId));
    await deleteKeys(this.syncRedis, formerMembers.map((uid) => conversationKeys.conversations(uid)));
  }
}

/** group_set instance: field `<uid>_1` → push shield of the group (docs/STORAGE.md §2). */
export const groupSetKey = (groupId: number): string => `group_set_${groupId}`;
export const shieldField = (userId: number): string => `${userId}_1`;

function toGroup(r: GroupDbRow): GroupRow {
  return {
    id: Number(r.id),
    name: String(r.name),
    avatar: String(r.avatar),
    creator: Number(r.creator),
    type: Number(r.type),
    status: Number(r.status),
    version: Number(r.version),
  };
}
