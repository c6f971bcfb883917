import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { SqlBatch } from './sql-batch';

// Idempotent stores (migration 0005, docs/RELIABILITY.md "Stored exactly
// once"): a message stored with an idempotency key leaves a row
// (fromId, idemKey) → msgId in IMMsgIdempotency, in the same transaction as
// the message. The unique key makes a second store of the same key fail the
// whole transaction; the committer then looks the keys up here and answers
// them with the first message's id. So the normal commit pays no lookup.

/** The unique key whose violation means "already stored" (migration 0005). */
export const IDEMPOTENCY_UNIQUE_KEY = 'uk_fromId_idemKey';
/** IMMsgIdempotency.idemKey is varchar(128). */
export const IDEM_KEY_MAX_CHARS = 128;

export interface IdempotencyRow {
  fromId: number;
  idemKey: string;
  sessionType: number;
  toId: number;
  msgId: number;
  created: number;
}

export interface IdemKey {
  fromId: number;
  idemKey: string;
}

/** Map key of a (sender, idempotency key) pair. */
export const idemMapKey = (k: IdemKey): string => `${k.fromId}\n${k.idemKey}`;

interface FoundRow extends RowDataPacket {
  fromId: number;
  idemKey: string;
  msgId: number;
  created: number;
}

export class IdempotencyStore {
  constructor(private readonly master: Pool) {}

  /** One multi-row INSERT in the message transaction. */
  addRows(batch: SqlBatch, rows: readonly IdempotencyRow[]): void {
    if (rows.length === 0) return;
    batch.addRows(
      'INSERT INTO IMMsgIdempotency (fromId, idemKey, sessionType, toId, msgId, created)',
      '(?, ?, ?, ?, ?, ?)',
      rows.map((r) => [r.fromId, r.idemKey, r.sessionType, r.toId, r.msgId, r.created]),
    );
  }

  /**
   * The stored msg id of each key that is within the window (created ≥
   * cutoff). Rows of these keys older than the window are deleted here, so
   * the message can be stored anew. Two queries, only after a duplicate.
   */
  async claimed(keys: readonly IdemKey[], cutoff: number): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (keys.length === 0) return out;
    const tuples = keys.map(() => '(?, ?)').join(', ');
    const params = keys.flatMap((k) => [k.fromId, k.idemKey]);
    const [rows] = await this.master.query<FoundRow[]>(`SELECT fromId, idemKey, msgId, created FROM IMMsgIdempotency WHERE (fromId, idemKey) IN (${tuples})`, params);
    let expired = false;
    for (const r of rows) {
      if (Number(r.created) >= cutoff) out.set(idemMapKey({ fromId: Number(r.fromId), idemKey: String(r.idemKey) }), Number(r.msgId));
      else expired = true;
    }
    if (expired) await this.master.query(`DELETE FROM IMMsgIdempotency WHERE created < ? AND (fromId, idemKey) IN (${tuples})`, [cutoff, ...params]);
    return out;
  }

  /** Deletes at most `chunk` rows older than the cutoff; returns how many went. */
  async purgeChunk(cutoff: number, chunk: number): Promise<number> {
    const [res] = await this.master.query<ResultSetHeader>('DELETE FROM IMMsgIdempotency WHERE created < ? LIMIT ?', [cutoff, chunk]);
    return res.affectedRows;
  }
}

/**
 * Background purge of rows older than the dedupe window: small chunks, each
 * its own short statement, so it never holds many locks at once. Every
 * db-proxy instance runs it; the deletes do not conflict in meaning.
 */
export class IdempotencyPurger {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: IdempotencyStore,
    private readonly windowSec: number,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
    private readonly chunk = 500,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One purge pass (also called by tests); concurrent calls share the pass in progress. */
  runOnce(): Promise<void> {
    this.running ??= this.purge().finally(() => (this.running = undefined));
    return this.running;
  }

  private async purge(): Promise<void> {
    const cutoff = Math.floor(Date.now() / 1000) - this.windowSec;
    try {
      while ((await this.store.purgeChunk(cutoff, this.chunk)) >= this.chunk) {
        // Yield between chunks so the event loop (and the message path) keeps going.
        await new Promise((r) => setImmediate(r));
      }
    } catch (err) {
      this.onError(err);
    }
  }
}
