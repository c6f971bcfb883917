import { messageTable } from './keys';
import type { SqlBatch } from './sql-batch';

export interface MessageRow {
  relateId: number;
  fromId: number;
  toId: number;
  msgId: number;
  content: string;
  type: number;
  created: number;
}

/** One multi-row INSERT per IMMessage_<relateId % 8> shard (docs/STORAGE.md §1.4). */
export function addMessageInserts(batch: SqlBatch, rows: readonly MessageRow[]): void {
  const byTable = new Map<string, MessageRow[]>();
  for (const r of rows) {
    const table = messageTable(r.relateId);
    let list = byTable.get(table);
    if (list === undefined) byTable.set(table, (list = []));
    list.push(r);
  }
  for (const [table, list] of byTable) {
    batch.addRows(
      `INSERT INTO ${table} (relateId, fromId, toId, msgId, content, type, status, updated, created)`,
      '(?, ?, ?, ?, ?, ?, 0, ?, ?)',
      list.map((r) => [r.relateId, r.fromId, r.toId, r.msgId, r.content, r.type, r.created, r.created]),
    );
  }
}
