import type { RedisClient } from '@tiertalk/redis';

/** One offline push as queued: the receiver and the stored IMMsgData bytes (decoded only when posted). */
export interface QueuedPush {
  toUserId: number;
  body: Uint8Array;
  /** Envelope.from_client_class when the sender's gateway set it (field `from_class`; entries of older routes lack it). */
  fromClientClass?: number;
}

/** An entry read from the stream; `push` is absent when the entry was trimmed/deleted or is malformed. */
export interface StreamEntry {
  id: string;
  push?: QueuedPush;
}

/** The consumer group every route instance reads the offline-push stream in. */
export const PUSH_GROUP = 'offline-push';

/**
 * The durable offline-push queue: a Redis Stream (one entry per push) read by
 * the route instances as consumers of one group, so each entry goes to one
 * instance and stays pending (XPENDING) until that instance acknowledges it;
 * what a dead instance left pending is claimed by another (XAUTOCLAIM).
 * Every method is one round trip (or one pipeline); errors are thrown.
 */
export class PushStream {
  constructor(
    private readonly redis: RedisClient,
    readonly key: string,
    private readonly maxLen: number,
  ) {}

  /**
   * One pipeline: an XADD per push, then XTRIM MAXLEN ~ maxLen (approximate:
   * whole stream nodes only, so cheap). Resolves with how many of the oldest
   * entries the trim removed: pushes lost to the bound.
   */
  async append(pushes: readonly QueuedPush[]): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (const push of pushes) pipeline.xadd(this.key, '*', ...entryFields(push));
    pipeline.xtrim(this.key, 'MAXLEN', '~', this.maxLen);
    const results = await pipeline.exec();
    if (results === null) throw new Error('offline-push stream append: pipeline discarded');
    for (const [err] of results) if (err) throw err;
    return Number(results[results.length - 1][1]);
  }

  /** Creates the group (reading from the stream's start) unless it exists; also after Redis lost it. */
  async ensureGroup(): Promise<void> {
    try {
      await this.redis.call('XGROUP', 'CREATE', this.key, PUSH_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err;
    }
  }

  /**
   * XREADGROUP on `conn` (a dedicated connection when blocking). `after` '>'
   * reads new entries; an id reads this consumer's own pending entries after it.
   */
  async read(conn: RedisClient, consumer: string, count: number, after: string, blockMs?: number): Promise<StreamEntry[]> {
    const block = blockMs === undefined ? [] : ['BLOCK', blockMs];
    const reply = await conn.callBuffer('XREADGROUP', 'GROUP', PUSH_GROUP, consumer, 'COUNT', count, ...block, 'STREAMS', this.key, after);
    if (!Array.isArray(reply) || reply.length === 0) return [];
    const [, entries] = reply[0] as [Buffer, unknown[]];
    return entries.map(parseEntry);
  }

  /**
   * XAUTOCLAIM: takes over up to `count` entries pending longer than
   * `minIdleMs` (their consumer died or stalled). Entries trimmed meanwhile
   * are dropped from the pending list by Redis and returned as `deleted`.
   */
  async claim(consumer: string, minIdleMs: number, cursor: string, count: number): Promise<{ cursor: string; entries: StreamEntry[]; deleted: number }> {
    const reply = (await this.redis.callBuffer('XAUTOCLAIM', this.key, PUSH_GROUP, consumer, minIdleMs, cursor, 'COUNT', count)) as [Buffer, unknown[], Buffer[]?];
    return { cursor: reply[0].toString(), entries: reply[1].map(parseEntry), deleted: reply[2]?.length ?? 0 };
  }

  /** Resets the idle time of entries this consumer still works on (XCLAIM JUSTID), so no one claims them; returns those still pending. */
  async touch(consumer: string, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    return (await this.redis.call('XCLAIM', this.key, PUSH_GROUP, consumer, 0, ...ids, 'JUSTID')) as string[];
  }

  /** Done with these entries (posted or given up): XACK and XDEL in one pipeline. */
  async ack(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const results = await this.redis.pipeline().xack(this.key, PUSH_GROUP, ...ids).xdel(this.key, ...ids).exec();
    if (results === null) throw new Error('offline-push stream ack: pipeline discarded');
    for (const [err] of results) if (err) throw err;
  }

  /**
   * Hands pushes over to the other consumers at once (graceful shutdown): in
   * one MULTI, appends them again as new entries and acknowledges and deletes
   * the held originals (`ackIds`), so none is lost or kept twice in Redis.
   */
  async requeue(pushes: readonly QueuedPush[], ackIds: readonly string[]): Promise<void> {
    const multi = this.redis.multi();
    for (const push of pushes) multi.xadd(this.key, '*', ...entryFields(push));
    if (ackIds.length > 0) multi.xack(this.key, PUSH_GROUP, ...ackIds).xdel(this.key, ...ackIds);
    const results = await multi.exec();
    if (results === null) throw new Error('offline-push stream requeue: transaction discarded');
    for (const [err] of results) if (err) throw err;
  }

  /** Removes consumers (other than `self`) that hold nothing and were not seen for `idleMs`: route instances gone for good. */
  async pruneConsumers(self: string, idleMs: number): Promise<number> {
    const consumers = (await this.redis.call('XINFO', 'CONSUMERS', this.key, PUSH_GROUP)) as unknown[][];
    let pruned = 0;
    for (const fields of consumers) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < fields.length; i += 2) info.set(String(fields[i]), fields[i + 1]);
      const name = String(info.get('name'));
      if (name === self || Number(info.get('pending')) !== 0 || Number(info.get('idle')) < idleMs) continue;
      await this.redis.call('XGROUP', 'DELCONSUMER', this.key, PUSH_GROUP, name);
      pruned += 1;
    }
    return pruned;
  }
}

/** A push as the field/value pairs of its stream entry; the body as a Buffer without copying it. */
function entryFields(push: QueuedPush): Array<string | Buffer> {
  const fields: Array<string | Buffer> = ['to', String(push.toUserId), 'body', Buffer.from(push.body.buffer, push.body.byteOffset, push.body.byteLength)];
  if (push.fromClientClass !== undefined) fields.push('from_class', String(push.fromClientClass));
  return fields;
}

function parseEntry(raw: unknown): StreamEntry {
  const [idBuf, fields] = raw as [Buffer, Buffer[] | null];
  const id = idBuf.toString();
  if (!Array.isArray(fields)) return { id };
  let toUserId = 0;
  let body: Buffer | undefined;
  let fromClientClass: number | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i].toString();
    if (name === 'to') toUserId = Number(fields[i + 1].toString());
    else if (name === 'body') body = fields[i + 1];
    else if (name === 'from_class') fromClientClass = Number(fields[i + 1].toString());
  }
  if (!Number.isSafeInteger(toUserId) || toUserId <= 0 || body === undefined) return { id };
  const push: QueuedPush = { toUserId, body };
  // A malformed class is dropped, not the push: the event just does not say where it was sent from.
  if (fromClientClass !== undefined && Number.isSafeInteger(fromClientClass)) push.fromClientClass = fromClientClass;
  return { id, push };
}
