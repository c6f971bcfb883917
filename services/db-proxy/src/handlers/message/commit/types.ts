import { IM, tiertalk } from '@tiertalk/proto';
import type { ErrorCodeName } from '@tiertalk/rpc';
import type { Members } from '../../../store/group-members';
import type { GroupMessageRow } from '../../../store/group-messages';
import type { RowProbe } from '../../../store/commit-outcome';
import { groupMessageTable, messageTable } from '../../../store/keys';
import type { MessageRow } from '../../../store/messages';

// What the parts of a message commit hand each other (docs/ARCHITECTURE.md,
// the message store path): admission → Accepted, commit plan → Planned,
// remote shards and the master transaction → stored msg ids.

const { STORE_OK, STORE_FAILED } = tiertalk.StoreResult;

/** memberIds: for a stored group message, the group's members at store time (MsgStoredItem.member_ids). */
/** code: unless STORE_OK, the catalogue code (docs/ERRORS.md) callers match; reason is for humans. */
export type StoreOutcome = { result: tiertalk.StoreResult; msgId: number; reason?: string; code?: ErrorCodeName; memberIds?: number[] };

export interface PendingMessage {
  msg: IM.Message.IMMsgData.$Properties;
  /** MsgStoreItem.idem_key: a second item with the same key from the same sender is answered, not stored again. */
  idemKey?: string;
  done(outcome: StoreOutcome): void;
}

/** What a checked message stores: its text, or an audio clip whose IMAudio id becomes the content. */
export type StorableContent = { text: string } | { audio: { duration: number; data: Buffer } };

/** A message admitted to a commit. */
export interface Accepted {
  p: PendingMessage;
  content: StorableContent;
  /** Group messages: the group's members (the sender among them). */
  members?: Members;
  /** Later items of the same batch with the same (sender, idempotency key): they get this item's answer. */
  followers: PendingMessage[];
}

/** One accepted message of a commit, with what its rows carry. */
export interface Planned {
  a: Accepted;
  group: boolean;
  /** relateId (1:1) or groupId: its shard is conversationId % 8. */
  conversationId: number;
  /** Taken from the counter; replaced by the stored id when a remote shard already holds the message. */
  msgId: number;
  /** Stored content: the text, or the IMAudio id. */
  content: string;
  /** Index into the commit's audio clips / reserved IMAudio ids. */
  clip?: number;
  created: number;
}

export const STORAGE_ERROR: StoreOutcome = { result: STORE_FAILED, msgId: 0, reason: 'storage error', code: 'message_storage_failed' };

/** The answer to an item and to its followers (same idempotency key in the same batch). */
export function answer(a: Accepted, outcome: StoreOutcome): void {
  a.p.done(outcome);
  for (const f of a.followers) f.done(outcome);
}

export function stored(a: Accepted, msgId: number): StoreOutcome {
  return a.members === undefined ? { result: STORE_OK, msgId } : { result: STORE_OK, msgId, memberIds: [...a.members.keys()] };
}

export function messageRowOf(p: Planned): MessageRow {
  const m = p.a.p.msg;
  return { relateId: p.conversationId, fromId: m.fromUserId, toId: m.toSessionId, msgId: p.msgId, content: p.content, type: m.msgType, created: p.created };
}

export function groupRowOf(p: Planned): GroupMessageRow {
  const m = p.a.p.msg;
  return { groupId: p.conversationId, fromId: m.fromUserId, msgId: p.msgId, content: p.content, type: m.msgType, created: p.created };
}

/** A query that finds one row of a transaction if it committed (commit-outcome.ts). */
export function probeOf(rows: readonly MessageRow[], groupRows: readonly GroupMessageRow[]): RowProbe {
  if (rows.length > 0) {
    const r = rows[0];
    return { sql: `SELECT 1 FROM ${messageTable(r.relateId)} WHERE relateId = ? AND msgId = ? LIMIT 1`, params: [r.relateId, r.msgId] };
  }
  const g = groupRows[0];
  return { sql: `SELECT 1 FROM ${groupMessageTable(g.groupId)} WHERE groupId = ? AND msgId = ? LIMIT 1`, params: [g.groupId, g.msgId] };
}
