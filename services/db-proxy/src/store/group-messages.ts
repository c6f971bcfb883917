import { groupMessageTable } from './keys';
import type { SqlBatch } from './sql-batch';

export interface GroupMessageRow {
  groupId: number;
  fromId: number;
  msgId: number;
  content: string;
  type: number;
  created: number;
}

/** One multi-row INSERT per IMGroupMessage_<groupId % 8> shard (docs/STORAGE.md §1.5, docs/FLOWS.md §10.2 step 2). */
export function addGroupMessageInserts(batch: SqlBatch, rows: readonly GroupMessageRow[]): void {
  const byTable = new Map<string, GroupMessageRow[]>();
  for (const r of rows) {
    const table = groupMessageTable(r.groupId);
    let list = byTable.get(table);
    if (list === undefined) byTable.set(table, (list = []));
    list.push(r);
  }
  for (const [table, list] of byTable) {
    batch.addRows(
      `INSERT INTO ${table} (groupId, userId, msgId, content, type, status, updated, created)`,
      '(?, ?, ?, ?, ?, 0, ?, ?)',
      list.map((r) => [r.groupId, r.fromId, r.msgId, r.content, r.type, r.created, r.created]),
    );
  }
}

/** IMGroup.lastChated of the groups that got messages (docs/FLOWS.md §10.2 step 2). */
export function addGroupChatted(batch: SqlBatch, groupIds: readonly number[], nowSec: number): void {
  if (groupIds.length === 0) return;
  // One fixed-shape statement per group: a commit touches few groups.
  for (const groupId of groupIds) batch.add('UPDATE IMGroup SET lastChated = ? WHERE id = ?', [nowSec, groupId]);
}
