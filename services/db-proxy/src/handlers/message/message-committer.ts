import { isUtf8 } from 'node:buffer';
import type Redis from 'ioredis';
import type { Pool } from 'mysql2/promise';
import type { Logger } from '@tiertalk/log';
import { IM, isGroupMsgType, tiertalk } from '@tiertalk/proto';
import { messageTable, redisKeys } from '../../store/keys';
import { addMessageInserts, MessageRow } from '../../store/messages';
import { SqlBatch } from '../../store/sql-batch';
import { CounterSpec, MessageIdAllocator } from '../../store/message-ids';
import { pairKey, RelationStore } from '../../store/relations';
import { RecentSessionWriter, SessionTouch } from '../../store/recent-sessions';
import { incrementUnread } from '../../store/unread';

const { STORE_OK, STORE_REJECTED, STORE_FAILED } = tiertalk.StoreResult;
const { MSG_TYPE_SINGLE_TEXT, MSG_TYPE_SINGLE_AUDIO } = IM.BaseDefine.MsgType;
const SESSION_TYPE_SINGLE = IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE;

// IMMessage_n.content is varchar(4096) (protocol.md §1: MAX_MSG_LEN).
const MAX_CONTENT_CHARS = 4096;

export type StoreOutcome = { result: tiertalk.StoreResult; msgId: number; reason?: string };

export interface PendingMessage {
  msg: IM.Message.IMMsgData.$Properties;
  done(outcome: StoreOutcome): void;
}

interface CommitterDeps {
  /** A pool that allows multi-statement queries: the transaction is one round trip. */
  writer: Pool;
  unreadRedis: Redis;
  relations: RelationStore;
  ids: MessageIdAllocator;
  sessions: RecentSessionWriter;
  log: Logger;
  batchMax: number;
}

/**
 * Group commit of 1:1 messages (docs/ARCHITECTURE.md, the message path): one
 * commit runs at a time and everything that arrives meanwhile rides in the
 * next one, so a lone message is stored at once and a burst costs one
 * transaction, one id pipeline and one unread pipeline per batch instead of
 * per message. Nothing is reported stored before MySQL committed it and its
 * unread counter is written.
 */
export class MessageCommitter {
  private queue: PendingMessage[] = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];
  private progressListeners: Array<() => void> = [];

  constructor(private readonly deps: CommitterDeps) {}

  get queued(): number {
    return this.queue.length;
  }

  submit(p: PendingMessage): void {
    this.queue.push(p);
    if (!this.running) void this.run();
  }

  /** Called after every commit; the stream handler resumes paused streams here. */
  onProgress(fn: () => void): void {
    this.progressListeners.push(fn);
  }

  /** Resolves once everything submitted so far is committed or failed. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.deps.batchMax);
        await this.commit(batch);
        for (const fn of this.progressListeners) fn();
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async commit(batch: PendingMessage[]): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const accepted: Array<{ p: PendingMessage; content: string }> = [];
    for (const p of batch) {
      const checked = checkSingleMessage(p.msg);
      if (typeof checked === 'string') {
        this.deps.log.info({ from: p.msg.fromUserId, to: p.msg.toSessionId, type: p.msg.msgType, reason: checked }, 'message rejected');
        p.done({ result: STORE_REJECTED, msgId: 0, reason: checked });
      } else {
        accepted.push({ p, content: checked.content });
      }
    }
    if (accepted.length === 0) return;

    try {
      const started = performance.now();
      const assigned = await this.store(accepted, now);
      accepted.forEach(({ p }, i) => p.done({ result: STORE_OK, msgId: assigned[i] }));
      const ms = performance.now() - started;
      // Operators watch for slow commits; every commit at debug for profiling.
      if (ms > 200) this.deps.log.warn({ messages: accepted.length, ms: Math.round(ms) }, 'slow message commit');
      else this.deps.log.debug({ messages: accepted.length, ms: Math.round(ms * 10) / 10, queued: this.queue.length }, 'message batch committed');
    } catch (err) {
      this.deps.log.error({ err, messages: accepted.length }, 'storing a message batch failed; senders get no ACK');
      for (const { p } of accepted) p.done({ result: STORE_FAILED, msgId: 0, reason: 'storage error' });
    }
  }

  /** Returns the msg id of each accepted message, in order. */
  private async store(accepted: Array<{ p: PendingMessage; content: string }>, now: number): Promise<number[]> {
    const { relations, ids, sessions, writer, unreadRedis } = this.deps;
    const relateIds = await relations.resolveForSend(
      accepted.map(({ p }) => [p.msg.fromUserId, p.msg.toSessionId] as const),
      now,
    );
    const relateOf = (m: IM.Message.IMMsgData.$Properties): number => {
      const id = relateIds.get(pairKey(m.fromUserId, m.toSessionId));
      if (id === undefined) throw new Error(`no relation for ${m.fromUserId}/${m.toSessionId}`);
      return id;
    };

    // One counter per relation; ids within a relation follow arrival order.
    const perRelation = new Map<number, number>();
    for (const { p } of accepted) {
      const r = relateOf(p.msg);
      perRelation.set(r, (perRelation.get(r) ?? 0) + 1);
    }
    const specs: CounterSpec[] = [...perRelation].map(([relateId, count]) => ({
      key: redisKeys.msgIdCounter(relateId),
      count,
      maxSql: `SELECT MAX(msgId) AS maxId FROM ${messageTable(relateId)} WHERE relateId = ?`,
      maxParams: [relateId],
    }));
    const lastIds = await ids.allocate(specs);
    const nextId = new Map<number, number>();
    for (const [relateId, count] of perRelation) nextId.set(relateId, (lastIds.get(redisKeys.msgIdCounter(relateId)) ?? 0) - count + 1);

    const rows: MessageRow[] = [];
    const touches: SessionTouch[] = [];
    const unread = new Map<string, { toId: number; fromId: number; n: number }>();
    const assigned: number[] = [];
    for (const { p, content } of accepted) {
      const m = p.msg;
      const relateId = relateOf(m);
      const msgId = nextId.get(relateId) ?? 0;
      nextId.set(relateId, msgId + 1);
      assigned.push(msgId);
      const created = m.createTime > 0 ? m.createTime : now;
      rows.push({ relateId, fromId: m.fromUserId, toId: m.toSessionId, msgId, content, type: m.msgType, created });
      touches.push(
        { userId: m.fromUserId, peerId: m.toSessionId, type: SESSION_TYPE_SINGLE, updated: now },
        { userId: m.toSessionId, peerId: m.fromUserId, type: SESSION_TYPE_SINGLE, updated: now },
      );
      const key = `${m.toSessionId}:${m.fromUserId}`;
      const u = unread.get(key);
      if (u) u.n += 1;
      else unread.set(key, { toId: m.toSessionId, fromId: m.fromUserId, n: 1 });
    }

    const batch = new SqlBatch();
    addMessageInserts(batch, rows);
    await sessions.addTouches(batch, touches);
    const conn = await writer.getConnection();
    try {
      await batch.runInTransaction(conn);
    } finally {
      conn.release();
    }
    sessions.remember(touches);

    // The rows are committed; the unread counters must follow before anyone
    // is ACKed. Retry briefly: failing here means the sender resends.
    await retry(() => incrementUnread(unreadRedis, unread), 3, 50);
    return assigned;
  }
}

/** Why a 1:1 message cannot be stored, or its content as a string. */
export function checkSingleMessage(m: IM.Message.IMMsgData.$Properties): { content: string } | string {
  if (isGroupMsgType(m.msgType)) return 'group messages are not stored by this path';
  if (m.msgType === MSG_TYPE_SINGLE_AUDIO) return 'audio messages need the msfs file store, which is not configured';
  if (m.msgType !== MSG_TYPE_SINGLE_TEXT) return `unknown message type ${m.msgType}`;
  if (m.fromUserId === 0 || m.toSessionId === 0) return 'sender or receiver id is 0';
  if (m.fromUserId === m.toSessionId) return 'message to self';
  if (m.msgData.length === 0) return 'empty message';
  // The column is utf8mb4 text: bytes that are not UTF-8 could not be stored byte-for-byte.
  if (!isUtf8(m.msgData)) return 'message content is not UTF-8 text';
  const content = Buffer.from(m.msgData.buffer, m.msgData.byteOffset, m.msgData.byteLength).toString('utf8');
  // UTF-16 length bounds the code-point count from above, so only long texts need counting.
  if (content.length > MAX_CONTENT_CHARS && [...content].length > MAX_CONTENT_CHARS) return `message longer than ${MAX_CONTENT_CHARS} characters`;
  return { content };
}

async function retry<T>(fn: () => Promise<T>, attempts: number, delayMs: number): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, delayMs * (i + 1)));
    }
  }
  throw last;
}
