import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { SqlBatch } from './sql-batch';

// Audio messages (docs/FLOWS.md §4 step 3.4, docs/STORAGE.md §1.9). TeamTalk uploads the
// bytes after the 4-byte duration to its msfs file server and keeps the
// returned path in IMAudio; the message row's content is the decimal IMAudio
// id. TierTalk has no msfs: the bytes go to its own table IMAudioData
// (migration 0003) and IMAudio.path holds the marker `tt-db:<id>`.

export const AUDIO_PATH_PREFIX = 'tt-db:';

export interface AudioClip {
  fromId: number;
  toId: number;
  /** Seconds, the first 4 bytes (big-endian) of the client's msg_data. */
  duration: number;
  /** The audio bytes after the duration. */
  data: Buffer;
  created: number;
}

export interface StoredAudio {
  duration: number;
  /** Undefined when the bytes are not in IMAudioData (e.g. a TeamTalk msfs path). */
  data: Buffer | undefined;
}

interface AudioRow extends RowDataPacket {
  id: number;
  duration: number;
  path: string;
  data: Buffer | null;
}

/** The duration and bytes of an audio msg_data, or why it is refused (≤ 4 bytes, as TeamTalk). */
export function parseAudioPayload(msgData: Uint8Array): { duration: number; data: Buffer } | string {
  if (msgData.length <= 4) return 'audio message of 4 bytes or less';
  const bytes = Buffer.from(msgData.buffer, msgData.byteOffset, msgData.byteLength);
  return { duration: bytes.readUInt32BE(0), data: Buffer.from(bytes.subarray(4)) };
}

/** What history returns for an audio message: 4-byte big-endian duration, then the audio bytes. */
export function audioMsgData(audio: StoredAudio): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(audio.duration >>> 0);
  return audio.data === undefined ? head : Buffer.concat([head, audio.data]);
}

export class AudioStore {
  /**
   * @param writer the message writer's pool
   * @param replica reads
   */
  constructor(
    private readonly writer: Pool,
    private readonly replica: Pool,
  ) {}

  /**
   * Inserts the IMAudio rows of a batch (one round trip) and returns their ids,
   * which the message rows need as content. Their bytes follow in the
   * message transaction (addData); a failed transaction discards them.
   */
  async reserve(clips: readonly AudioClip[]): Promise<number[]> {
    if (clips.length === 0) return [];
    const ids: number[] = [];
    const conn = await this.writer.getConnection();
    try {
      for (const c of clips) {
        // One single-row INSERT each: every result carries its own insertId (a
        // multi-row INSERT's ids need not be consecutive). Audio is rare.
        const [result] = await conn.execute<ResultSetHeader>("INSERT INTO IMAudio (fromId, toId, path, size, duration, created) VALUES (?, ?, '', ?, ?, ?)", [
          c.fromId,
          c.toId,
          c.data.length,
          c.duration,
          c.created,
        ]);
        ids.push(Number(result.insertId));
      }
    } catch (err) {
      await this.discard(ids).catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
    if (ids.some((id) => !(id > 0))) throw new Error(`reserved IMAudio rows without ids for ${clips.length} clips`);
    return ids;
  }

  /** The bytes and the path marker, inside the message transaction. */
  addData(batch: SqlBatch, ids: readonly number[], clips: readonly AudioClip[]): void {
    if (ids.length === 0) return;
    // The bytes as a bound binary parameter.
    batch.addRows('INSERT INTO IMAudioData (audioId, data)', '(?, ?)', ids.map((id, i) => [id, clips[i].data]));
    for (const id of ids) batch.add('UPDATE IMAudio SET path = ? WHERE id = ?', [`${AUDIO_PATH_PREFIX}${id}`, id]);
  }

  /** Rows reserved for a transaction that failed (best effort: they are unreferenced either way). */
  async discard(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.writer.query(`DELETE FROM IMAudio WHERE path = '' AND id IN (${ids.map(() => '?').join(', ')})`, [...ids]);
  }

  /** Audio by IMAudio id (history, by-id). */
  async load(ids: readonly number[]): Promise<Map<number, StoredAudio>> {
    const out = new Map<number, StoredAudio>();
    const wanted = [...new Set(ids.filter((id) => Number.isSafeInteger(id) && id > 0))];
    if (wanted.length === 0) return out;
    const [rows] = await this.replica.query<AudioRow[]>(
      `SELECT a.id, a.duration, a.path, d.data FROM IMAudio a LEFT JOIN IMAudioData d ON d.audioId = a.id WHERE a.id IN (${wanted.map(() => '?').join(', ')})`,
      wanted,
    );
    for (const r of rows) out.set(Number(r.id), { duration: Number(r.duration), data: r.data === null ? undefined : Buffer.from(r.data) });
    return out;
  }
}
