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

/** One multi-row INSERT per IMGroupMessage_<groupId % 8> shard (storage.md §1.5, flows.md §10.2 step 2). */
export function addGroupMessageInserts(batch: SqlBatch, rows: readonly GroupMessageRow[]): void {
  const byTable = new Map<string, GroupMessageRow[]>();
  for (const r of rows) {
    const table = groupMessageTable(r.groupId);
    let list = byTable.get(table);
    if (list === undefined) byTable.set(table, (list = []));
    list.push(r);
  }
  for (const [table, list] of byTable) {
    const values: Array<number | string> = [];
    for (const r of list) values.push(r.groupId, r.fromId, r.msgId, r.content, r.type, 0, r.created, r.created);
    batch.add(
      `INSERT INTO ${table} (groupId, userId, msgId, content, type, status, updated, created) VALUES ${list.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      values,
    );
  }
}

/** IMGroup.lastChated of the groups that got messages (flows.md §10.2 step 2). */
export function addGroupChatted(batch: SqlBatch, groupIds: readonly number[], nowSec: number): void {
  if (groupIds.length === 0) return;
  batch.add(`UPDATE IMGroup SET lastChated = ? WHERE id IN (${groupIds.map(() => '?').join(', ')})`, [nowSec, ...groupIds]);
}
