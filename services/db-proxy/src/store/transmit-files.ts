import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

/** One IMTransmitFile row as the receiver's list shows it (status 0: waiting for download). */
export interface OfflineFileRow {
  fromId: number;
  taskId: string;
  fileName: string;
  size: number;
}

interface FileRow extends RowDataPacket, OfflineFileRow {}

/** Column limits of IMTransmitFile (migrations/0002_transmit_file.sql). */
export const FILE_NAME_MAX_CHARS = 255;
export const TASK_ID_MAX_CHARS = 128;

/**
 * TeamTalk's offline file records (FileModel): listed by `toId` and status 0,
 * oldest first; added with status 0; deleted by fromId + toId + taskId.
 * Reads go to the master: a receiver asks right after the sender added one.
 */
export class TransmitFileStore {
  constructor(private readonly master: Pool) {}

  /** The receiver's waiting files, oldest first, at most `limit`. */
  async listFor(toId: number, limit: number): Promise<OfflineFileRow[]> {
    const [rows] = await this.master.query<FileRow[]>(
      'SELECT fromId, taskId, fileName, size FROM IMTransmitFile WHERE toId = ? AND status = 0 ORDER BY created, id LIMIT ?',
      [toId, limit],
    );
    return rows.map((r) => ({ fromId: r.fromId, taskId: r.taskId, fileName: r.fileName, size: r.size }));
  }

  /** Adds a record unless the same (fromId, toId, taskId) is already listed (a client's retry). */
  async add(fromId: number, toId: number, taskId: string, fileName: string, size: number, nowSec: number): Promise<boolean> {
    const [res] = await this.master.query<ResultSetHeader>(
      `INSERT INTO IMTransmitFile (fromId, toId, fileName, size, taskId, status, created, updated)
       SELECT ?, ?, ?, ?, ?, 0, ?, ? FROM DUAL
       WHERE NOT EXISTS (SELECT 1 FROM IMTransmitFile WHERE fromId = ? AND toId = ? AND taskId = ?)`,
      [fromId, toId, fileName, size, taskId, nowSec, nowSec, fromId, toId, taskId],
    );
    return res.affectedRows === 1;
  }

  /** Removes the record; false when there was none. */
  async remove(fromId: number, toId: number, taskId: string): Promise<boolean> {
    const [res] = await this.master.execute<ResultSetHeader>('DELETE FROM IMTransmitFile WHERE fromId = ? AND toId = ? AND taskId = ?', [fromId, toId, taskId]);
    return res.affectedRows > 0;
  }
}
