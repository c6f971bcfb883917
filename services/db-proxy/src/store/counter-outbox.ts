import { randomUUID } from 'node:crypto';
import { defineVariadicScript, batch, hashedPart, type RedisClient } from '@tiertalk/redis';
import { Cluster } from 'ioredis';
import type { Result } from 'ioredis';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { groupCounterKeysFor, type GroupCounterKeys } from './group-message-reader';
import { redisKeys } from './keys';
import type { SqlBatch } from './sql-batch';

// Unread and group counters follow a message commit through an outbox
// (migration 0008, docs/RELIABILITY.md "Stored exactly once"): the deltas of a
// commit are one IMCounterOutbox row written in the message transaction, so
// once the messages are committed their counting cannot be lost. After the
// commit the row is applied to Redis and then deleted (deletes batched in the
// background); rows that a crash or a Redis failure left behind are applied
// by the repair job, at start-up and periodically, on every instance.
//
// Applying is idempotent: one Lua script applies a row and records its id in
// Redis (`tt_counter_applied:<id>`, kept APPLIED_MARK_TTL_SEC) atomically, so
// a crash between applying and deleting, or two instances repairing the same
// row, never counts a message twice.
//
// On a Redis Cluster one script may only touch keys of one slot: a row is
// applied in parts, one per slot its counters hash to (a user's unread_<uid>,
// a group's counters sharing the {<gid>} tag), each part with its own mark
// `tt_counter_applied:<id>:{<part>}` in that slot, so each part is applied
// once however often the row is repaired.

/** HINCRBY unread_<to> <from> n (docs/STORAGE.md §2). */
export interface UnreadDelta {
  toId: number;
  fromId: number;
  n: number;
}

/**
 * TeamTalk's group unread (docs/STORAGE.md §2, docs/FLOWS.md §10.2 step 2): the group's
 * `<gid>_im_group_msg` count grows by `count` and each sender's
 * `<uid>_<gid>_im_user_group` snapshot becomes the total minus the messages
 * of the commit stored after that sender's last one ("sender has read all").
 */
export interface GroupCountDelta {
  groupId: number;
  count: number;
  /** sender id → messages of this commit after the sender's last one in the group. */
  senders: Map<number, number>;
}

export interface CounterDeltas {
  unread: UnreadDelta[];
  groups: GroupCountDelta[];
}

export interface OutboxEntry {
  id: string;
  deltas: CounterDeltas;
}

/** Longer than any outbox row can wait for the repair job. */
const APPLIED_MARK_TTL_SEC = 7 * 24 * 3600;
const REPAIR_CHUNK = 500;
const DELETE_CHUNK = 500;
const DELETE_DELAY_MS = 200;

// KEYS[1]: the applied mark; the other KEYS are the counters ARGV[2] names.
// ARGV[2]: {"u":[[unreadKey, field, n]...], "g":[[totalKey, count, [[userKey, after]...]]...]}
const APPLY = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local ops = cjson.decode(ARGV[2])
for _, u in ipairs(ops.u) do redis.call('HINCRBY', u[1], u[2], u[3]) end
for _, g in ipairs(ops.g) do
  local total = redis.call('HINCRBY', g[1], 'count', g[2])
  for _, s in ipairs(g[3]) do redis.call('HSET', s[1], 'count', total - s[2]) end
end
return 1`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ttApplyCounters(keyCount: number, ...keysAndArgs: Array<string | number>): Result<number, Context>;
  }
}

/** [unread_<to>, from, n] */
type UnreadOp = [key: string, field: string, n: number];
/** [group total, count, [[user snapshot, messages after the user's last], ...]] */
type GroupOp = [total: string, count: number, senders: Array<[key: string, after: number]>];

interface ApplyPart {
  mark: string;
  u: UnreadOp[];
  g: GroupOp[];
}

interface OutboxRow extends RowDataPacket {
  id: string;
  deltas: string;
}

export const appliedMarkKey = (id: string): string => `tt_counter_applied:${id}`;

/** The stored form: ids only, compact. */
export function encodeDeltas(d: CounterDeltas): string {
  return JSON.stringify({
    u: d.unread.map((u) => [u.toId, u.fromId, u.n]),
    g: d.groups.map((g) => [g.groupId, g.count, [...g.senders]]),
  });
}

export function decodeDeltas(text: string): CounterDeltas {
  const raw = JSON.parse(text) as { u: Array<[number, number, number]>; g: Array<[number, number, Array<[number, number]>]> };
  return {
    unread: raw.u.map(([toId, fromId, n]) => ({ toId, fromId, n })),
    groups: raw.g.map(([groupId, count, senders]) => ({ groupId, count, senders: new Map(senders) })),
  };
}

export interface CounterOutboxOptions {
  /** How often the repair job looks for rows left behind. */
  repairIntervalMs: number;
  /** Rows younger than this are left to the commit that wrote them (applying them too would only be a no-op). */
  repairGraceSec: number;
  onError(err: unknown, what: string): void;
}

export class CounterOutbox {
  private readonly toDelete = new Set<string>();
  private deleteTimer: NodeJS.Timeout | undefined;
  private repairTimer: NodeJS.Timeout | undefined;
  private repairing: Promise<void> | undefined;
  private deleting: Promise<void> | undefined;
  private readonly counterKeys: GroupCounterKeys;

  constructor(
    private readonly master: Pool,
    private readonly unreadRedis: RedisClient,
    private readonly opts: CounterOutboxOptions,
  ) {
    defineVariadicScript(unreadRedis, 'ttApplyCounters', APPLY);
    this.counterKeys = groupCounterKeysFor(unreadRedis);
  }

  /** The outbox entry of a commit, or undefined when it changes no counter. */
  entryFor(deltas: CounterDeltas): OutboxEntry | undefined {
    if (deltas.unread.length === 0 && deltas.groups.length === 0) return undefined;
    return { id: randomUUID().replace(/-/g, ''), deltas };
  }

  /** The entry's row, inside the message transaction. */
  addRow(batch: SqlBatch, entry: OutboxEntry, nowSec: number): void {
    batch.add('INSERT INTO IMCounterOutbox (id, deltas, created) VALUES (?, ?, ?)', [entry.id, encodeDeltas(entry.deltas), nowSec]);
  }

  /** Applies committed entries to Redis (one pipeline); each is applied at most once, whoever calls. */
  async apply(entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = batch(this.unreadRedis);
    for (const e of entries) {
      for (const part of this.parts(e)) {
        const keys = [part.mark];
        for (const [key] of part.u) keys.push(key);
        for (const [total, , senders] of part.g) keys.push(total, ...senders.map(([key]) => key));
        pipeline.ttApplyCounters(keys.length, ...keys, APPLIED_MARK_TTL_SEC, JSON.stringify({ u: part.u, g: part.g }));
      }
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) if (err) throw err;
  }

  /** The script calls of an entry: one on a server, one per slot on a cluster. */
  private parts(e: OutboxEntry): ApplyPart[] {
    const u = e.deltas.unread.map((d): UnreadOp => [redisKeys.unread(d.toId), String(d.fromId), d.n]);
    const g = e.deltas.groups.map(
      (d): GroupOp => [this.counterKeys.groupTotal(d.groupId), d.count, [...d.senders].map(([uid, after]) => [this.counterKeys.userRead(uid, d.groupId), after])],
    );
    if (!(this.unreadRedis instanceof Cluster)) return [{ mark: appliedMarkKey(e.id), u, g }];
    const bySlot = new Map<string, ApplyPart>();
    const partOf = (key: string): ApplyPart => {
      const hashed = hashedPart(key);
      let part = bySlot.get(hashed);
      if (part === undefined) bySlot.set(hashed, (part = { mark: `${appliedMarkKey(e.id)}:{${hashed}}`, u: [], g: [] }));
      return part;
    };
    for (const op of u) partOf(op[0]).u.push(op);
    for (const op of g) partOf(op[0]).g.push(op);
    return [...bySlot.values()];
  }

  /** Rows applied to Redis: deleted shortly, many in one statement. */
  markApplied(ids: readonly string[]): void {
    for (const id of ids) this.toDelete.add(id);
    if (this.toDelete.size >= DELETE_CHUNK) void this.flushDeletes();
    else if (this.deleteTimer === undefined) {
      this.deleteTimer = setTimeout(() => void this.flushDeletes(), DELETE_DELAY_MS);
      this.deleteTimer.unref();
    }
  }

  /** Deletes the rows marked applied (also at shutdown); a failed delete is retried by the repair job's re-apply, which is a no-op. */
  flushDeletes(): Promise<void> {
    if (this.deleteTimer !== undefined) clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    const run = async (): Promise<void> => {
      await this.deleting;
      while (this.toDelete.size > 0) {
        const ids = [...this.toDelete].slice(0, DELETE_CHUNK);
        for (const id of ids) this.toDelete.delete(id);
        try {
          await this.deleteRows(ids);
        } catch (err) {
          this.opts.onError(err, 'deleting applied counter outbox rows');
          return;
        }
      }
    };
    const p = run();
    this.deleting = p;
    return p;
  }

  /** Applies and deletes every row older than the grace time. */
  repairOnce(): Promise<void> {
    this.repairing ??= this.repair().finally(() => (this.repairing = undefined));
    return this.repairing;
  }

  /** Repairs now (start-up) and then periodically. */
  start(): void {
    if (this.repairTimer !== undefined) return;
    void this.repairOnce();
    this.repairTimer = setInterval(() => void this.repairOnce(), this.opts.repairIntervalMs);
    this.repairTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.repairTimer !== undefined) clearInterval(this.repairTimer);
    this.repairTimer = undefined;
    await this.repairing;
    await this.flushDeletes();
  }

  private async repair(): Promise<void> {
    try {
      for (;;) {
        const cutoff = Math.floor(Date.now() / 1000) - this.opts.repairGraceSec;
        const [rows] = await this.master.query<OutboxRow[]>('SELECT id, deltas FROM IMCounterOutbox WHERE created <= ? ORDER BY created LIMIT ?', [
          cutoff,
          REPAIR_CHUNK,
        ]);
        if (rows.length === 0) return;
        await this.apply(rows.map((r) => ({ id: String(r.id), deltas: decodeDeltas(String(r.deltas)) })));
        await this.deleteRows(rows.map((r) => String(r.id)));
        if (rows.length < REPAIR_CHUNK) return;
      }
    } catch (err) {
      this.opts.onError(err, 'repairing counters from the outbox');
    }
  }

  private async deleteRows(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.master.query(`DELETE FROM IMCounterOutbox WHERE id IN (${ids.map(() => '?').join(', ')})`, [...ids]);
  }
}
