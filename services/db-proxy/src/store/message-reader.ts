import type { RowDataPacket } from 'mysql2/promise';
import { groupMessageTable, messageTable } from './keys';
import type { MessageShardServers } from './shard-servers';

/** A stored message, 1:1 or group, as the read paths need it. */
export interface MessageRecord {
  msgId: number;
  /** Sender (IMMessage_n.fromId / IMGroupMessage_n.userId). */
  fromId: number;
  type: number;
  /** Text as stored; for audio the decimal IMAudio id. */
  content: string;
  created: number;
  /** When the sender recalled it (status 2, docs/PROTOCOL.md §6); 0 otherwise. */
  recallTime: number;
}

/** One IMMessage_n row (docs/STORAGE.md §1.4). */
export interface StoredMessage extends MessageRecord {
  relateId: number;
}

/** The column as text (utf8mb4; a driver may hand binary-collated text over as bytes). */
export function contentText(content: string | Buffer | null): string {
  return content === null ? '' : typeof content === 'string' ? content : content.toString('utf8');
}

interface ConversationRow extends RowDataPacket {
  conversationId: number;
  msgId: number;
  fromId: number;
  type: number;
  content: string | Buffer | null;
  created: number;
  status: number;
  updated: number;
}

/** A stored message with the conversation (relation or group) it belongs to. */
export interface ConversationMessage extends MessageRecord {
  conversationId: number;
}

/** One of TeamTalk's two families of sharded message tables (docs/STORAGE.md §1.4, §1.5). */
export interface ShardFamily {
  table(conversationId: number): string;
  /** relateId / groupId */
  conversationColumn: string;
  /** fromId / userId */
  senderColumn: string;
}

export const ONE_TO_ONE_SHARDS: ShardFamily = { table: messageTable, conversationColumn: 'relateId', senderColumn: 'fromId' };
export const GROUP_SHARDS: ShardFamily = { table: groupMessageTable, conversationColumn: 'groupId', senderColumn: 'userId' };

// TeamTalk shows only status 0; TierTalk also lists recalled rows (status 2,
// store/recalls.ts), whose content is the recall placeholder.
const RECALLED_STATUS = 2;
const SHOWN = 'status IN (0, 2)';

// Conversations per UNION query of latest(): one round trip for a page of sessions.
const LATEST_CHUNK = 100;

function toMessage(r: ConversationRow): ConversationMessage {
  return {
    conversationId: Number(r.conversationId),
    msgId: Number(r.msgId),
    fromId: Number(r.fromId),
    type: Number(r.type),
    content: contentText(r.content),
    created: Number(r.created),
    recallTime: Number(r.status) === RECALLED_STATUS ? Number(r.updated) : 0,
  };
}

/**
 * TeamTalk's message reads over one shard family, each on the server holding the shard (shard-servers.ts), in its order
 * (`created desc, id desc`, docs/FLOWS.md §7.2); rows with a status other than 0
 * (visible) or 2 (recalled) are never returned. `since` (a group member's join time, docs/FLOWS.md §7.2) bounds
 * `created` from below; 0 means no bound.
 */
export class ShardedMessages {
  private readonly columns: string;

  constructor(
    private readonly servers: MessageShardServers,
    private readonly family: ShardFamily,
  ) {
    this.columns = `${family.conversationColumn} AS conversationId, msgId, ${family.senderColumn} AS fromId, type, content, created, status, updated`;
  }

  /** History page: newest first, `msgId <= msgIdBegin` unless it is 0. */
  async page(conversationId: number, msgIdBegin: number, count: number, since = 0): Promise<ConversationMessage[]> {
    if (count <= 0) return [];
    const { where, params } = this.where(conversationId, since);
    const from = msgIdBegin > 0 ? ' AND msgId <= ?' : '';
    const [rows] = await this.servers.poolOf(conversationId).query<ConversationRow[]>(
      `SELECT ${this.columns} FROM ${this.family.table(conversationId)} WHERE ${where}${from} ORDER BY created DESC, id DESC LIMIT ?`,
      [...params, ...(msgIdBegin > 0 ? [msgIdBegin] : []), count],
    );
    return rows.map(toMessage);
  }

  /** The rows with these msg ids, newest first, at most `max` (TeamTalk: 100). */
  async byIds(conversationId: number, msgIds: readonly number[], max: number, since = 0): Promise<ConversationMessage[]> {
    if (msgIds.length === 0 || max <= 0) return [];
    const { where, params } = this.where(conversationId, since);
    const [rows] = await this.servers.poolOf(conversationId).query<ConversationRow[]>(
      `SELECT ${this.columns} FROM ${this.family.table(conversationId)} WHERE ${where} AND msgId IN (${msgIds.map(() => '?').join(', ')}) ORDER BY created DESC, id DESC LIMIT ?`,
      [...params, ...msgIds, max],
    );
    return rows.map(toMessage);
  }

  /** The newest message of each conversation (previews, latest id); one query per 100 conversations per server, the servers at once. */
  async latest(conversationIds: readonly number[]): Promise<Map<number, ConversationMessage>> {
    const out = new Map<number, ConversationMessage>();
    const byServer = this.servers.group([...new Set(conversationIds)], (id) => id);
    await Promise.all(
      [...byServer].map(async ([server, ids]) => {
        for (let i = 0; i < ids.length; i += LATEST_CHUNK) {
          const chunk = ids.slice(i, i + LATEST_CHUNK);
          const sql = chunk
            .map((id) => `(SELECT ${this.columns} FROM ${this.family.table(id)} WHERE ${this.family.conversationColumn} = ? AND ${SHOWN} ORDER BY created DESC, id DESC LIMIT 1)`)
            .join(' UNION ALL ');
          const [rows] = await server.pool.query<ConversationRow[]>(sql, chunk);
          for (const r of rows) out.set(Number(r.conversationId), toMessage(r));
        }
      }),
    );
    return out;
  }

  private where(conversationId: number, since: number): { where: string; params: number[] } {
    const base = `${this.family.conversationColumn} = ? AND ${SHOWN}`;
    return since > 0 ? { where: `${base} AND created >= ?`, params: [conversationId, since] } : { where: base, params: [conversationId] };
  }
}

const withRelateId = (m: ConversationMessage): StoredMessage => ({ ...m, relateId: m.conversationId });

/** Reads of 1:1 messages from the IMMessage_<relateId % 8> shards. */
export class MessageReader {
  private readonly shards: ShardedMessages;

  constructor(servers: MessageShardServers) {
    this.shards = new ShardedMessages(servers, ONE_TO_ONE_SHARDS);
  }

  /** History page: newest first, `msgId <= msgIdBegin` unless it is 0. */
  async page(relateId: number, msgIdBegin: number, count: number): Promise<StoredMessage[]> {
    return (await this.shards.page(relateId, msgIdBegin, count)).map(withRelateId);
  }

  /** The rows with these msg ids, newest first, at most `max` (TeamTalk: 100). */
  async byIds(relateId: number, msgIds: readonly number[], max: number): Promise<StoredMessage[]> {
    return (await this.shards.byIds(relateId, msgIds, max)).map(withRelateId);
  }

  /** The newest message of each relation (unread and session previews, latest id). */
  async latest(relateIds: readonly number[]): Promise<Map<number, StoredMessage>> {
    const out = new Map<number, StoredMessage>();
    for (const [id, m] of await this.shards.latest(relateIds)) out.set(id, withRelateId(m));
    return out;
  }
}
