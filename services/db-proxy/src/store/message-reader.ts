import type { Pool, RowDataPacket } from 'mysql2/promise';
import { messageTable } from './keys';

/** A stored message, 1:1 or group, as the read paths need it. */
export interface MessageRecord {
  msgId: number;
  /** Sender (IMMessage_n.fromId / IMGroupMessage_n.userId). */
  fromId: number;
  type: number;
  /** Text as stored; for audio the decimal IMAudio id. */
  content: string;
  created: number;
}

/** One IMMessage_n row (storage.md §1.4). */
export interface StoredMessage extends MessageRecord {
  relateId: number;
}

/** The column as text (utf8mb4; a driver may hand binary-collated text over as bytes). */
export function contentText(content: string | Buffer | null): string {
  return content === null ? '' : typeof content === 'string' ? content : content.toString('utf8');
}

interface MessageRow extends RowDataPacket {
  relateId: number;
  msgId: number;
  fromId: number;
  type: number;
  content: string | Buffer | null;
  created: number;
}

const COLUMNS = 'relateId, msgId, fromId, type, content, created';
// Relations per UNION query of latest(): one round trip for a page of sessions.
const LATEST_CHUNK = 100;

function toMessage(r: MessageRow): StoredMessage {
  return {
    relateId: Number(r.relateId),
    msgId: Number(r.msgId),
    fromId: Number(r.fromId),
    type: Number(r.type),
    content: contentText(r.content),
    created: Number(r.created),
  };
}

/**
 * Reads of 1:1 messages from the IMMessage_<relateId % 8> shards, on the
 * replica, in TeamTalk's order (`created desc, id desc`, flows.md §7.2); rows
 * with status ≠ 0 are never returned.
 */
export class MessageReader {
  constructor(private readonly replica: Pool) {}

  /** History page: newest first, `msgId <= msgIdBegin` unless it is 0. */
  async page(relateId: number, msgIdBegin: number, count: number): Promise<StoredMessage[]> {
    if (count <= 0) return [];
    const from = msgIdBegin > 0 ? ' AND msgId <= ?' : '';
    const params = msgIdBegin > 0 ? [relateId, msgIdBegin, count] : [relateId, count];
    const [rows] = await this.replica.query<MessageRow[]>(
      `SELECT ${COLUMNS} FROM ${messageTable(relateId)} WHERE relateId = ? AND status = 0${from} ORDER BY created DESC, id DESC LIMIT ?`,
      params,
    );
    return rows.map(toMessage);
  }

  /** The rows with these msg ids, newest first, at most `max` (TeamTalk: 100). */
  async byIds(relateId: number, msgIds: readonly number[], max: number): Promise<StoredMessage[]> {
    if (msgIds.length === 0 || max <= 0) return [];
    const [rows] = await this.replica.query<MessageRow[]>(
      `SELECT ${COLUMNS} FROM ${messageTable(relateId)} WHERE relateId = ? AND status = 0 AND msgId IN (${msgIds.map(() => '?').join(', ')}) ORDER BY created DESC, id DESC LIMIT ?`,
      [relateId, ...msgIds, max],
    );
    return rows.map(toMessage);
  }

  /** The newest message of each relation (unread and session previews, latest id); one query per 100 relations. */
  async latest(relateIds: readonly number[]): Promise<Map<number, StoredMessage>> {
    const out = new Map<number, StoredMessage>();
    const ids = [...new Set(relateIds)];
    for (let i = 0; i < ids.length; i += LATEST_CHUNK) {
      const chunk = ids.slice(i, i + LATEST_CHUNK);
      const sql = chunk
        .map((id) => `(SELECT ${COLUMNS} FROM ${messageTable(id)} WHERE relateId = ? AND status = 0 ORDER BY created DESC, id DESC LIMIT 1)`)
        .join(' UNION ALL ');
      const [rows] = await this.replica.query<MessageRow[]>(sql, chunk);
      for (const r of rows) out.set(Number(r.relateId), toMessage(r));
    }
    return out;
  }
}
