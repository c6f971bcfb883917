import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { groupMessageTable, messageTable } from './keys';

// Recall (docs/PROTOCOL.md §6) on TeamTalk's message shards. TeamTalk's readers
// show only `status = 0` and never write another value; TierTalk marks a
// recalled row `status = 2` and replaces its content with the placeholder, so
// the original text is gone and TierTalk's readers still list the row.
export const STATUS_VISIBLE = 0;
export const STATUS_RECALLED = 2;

/** The row a recall or readers request is about. */
export interface RecallTarget {
  fromId: number;
  type: number;
  status: number;
  created: number;
  /** updated: for a recalled row, when it was recalled. */
  updated: number;
}

interface TargetRow extends RowDataPacket {
  fromId: number;
  type: number;
  status: number;
  created: number;
  updated: number;
}

/** 1:1 (relateId) or group (groupId) message shard family. */
export type Conversation = { kind: 'single'; relateId: number } | { kind: 'group'; groupId: number };

function place(c: Conversation): { table: string; column: string; sender: string; id: number } {
  return c.kind === 'single'
    ? { table: messageTable(c.relateId), column: 'relateId', sender: 'fromId', id: c.relateId }
    : { table: groupMessageTable(c.groupId), column: 'groupId', sender: 'userId', id: c.groupId };
}

export async function findMessage(shard: Pool, c: Conversation, msgId: number): Promise<RecallTarget | undefined> {
  const p = place(c);
  const [rows] = await shard.query<TargetRow[]>(
    `SELECT ${p.sender} AS fromId, type, status, created, updated FROM ${p.table} WHERE ${p.column} = ? AND msgId = ? ORDER BY id DESC LIMIT 1`,
    [p.id, msgId],
  );
  const r = rows[0];
  return r === undefined
    ? undefined
    : { fromId: Number(r.fromId), type: Number(r.type), status: Number(r.status), created: Number(r.created), updated: Number(r.updated) };
}

/** Marks a visible row recalled with `content` as its text; false when it was no longer visible (a concurrent recall). */
export async function markRecalled(shard: Pool, c: Conversation, msgId: number, content: string, textType: number, nowSec: number): Promise<boolean> {
  const p = place(c);
  const [res] = await shard.query<ResultSetHeader>(
    `UPDATE ${p.table} SET status = ?, content = ?, type = ?, updated = ? WHERE ${p.column} = ? AND msgId = ? AND status = ?`,
    [STATUS_RECALLED, content, textType, nowSec, p.id, msgId, STATUS_VISIBLE],
  );
  return res.affectedRows > 0;
}

interface CursorRow extends RowDataPacket {
  userId: number;
  msgId: number;
}

/** IMReadCursor positions of these users in one conversation (peerId: the other user for 1:1, the group). Missing = nothing read. */
export async function readPositions(master: Pool, userIds: readonly number[], peerId: number, sessionType: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (userIds.length === 0) return out;
  const [rows] = await master.query<CursorRow[]>(
    `SELECT userId, msgId FROM IMReadCursor WHERE peerId = ? AND sessionType = ? AND userId IN (${userIds.map(() => '?').join(', ')})`,
    [peerId, sessionType, ...userIds],
  );
  for (const r of rows) out.set(Number(r.userId), Number(r.msgId));
  return out;
}

interface MemberRow extends RowDataPacket {
  userId: number;
  created: number;
}

/** Current members (IMGroupMember status 0) with their join time (their newest row). */
export async function membersWithJoinTime(master: Pool, groupId: number): Promise<Map<number, number>> {
  const [rows] = await master.query<MemberRow[]>('SELECT userId, MAX(created) AS created FROM IMGroupMember WHERE groupId = ? AND status = 0 GROUP BY userId', [groupId]);
  return new Map(rows.map((r) => [Number(r.userId), Number(r.created)]));
}
