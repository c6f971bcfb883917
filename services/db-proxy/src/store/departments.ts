import type { Pool, RowDataPacket } from 'mysql2/promise';

export interface DepartRow extends RowDataPacket {
  id: number;
  departName: string;
  priority: number;
  parentId: number;
  status: number;
  updated: number;
}

/** IMDepart (docs/STORAGE.md §1.2). */
export class DepartmentStore {
  constructor(private readonly replica: Pool) {}

  /** docs/FLOWS.md §9 IMDepartmentReq: departments with `updated > since` (strictly, as TeamTalk), in id order. */
  async changedSince(since: number): Promise<DepartRow[]> {
    const [rows] = await this.replica.execute<DepartRow[]>(
      'SELECT id, departName, priority, parentId, status, updated FROM IMDepart WHERE updated > ? ORDER BY id',
      [since],
    );
    return rows;
  }
}
