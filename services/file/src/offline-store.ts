import { PassThrough, Readable } from 'node:stream';
import type { FileStore } from '@tiertalk/storage';

/** What the file server keeps beside an offline file: enough to serve it from any instance, after a restart. */
export interface OfflineFileMeta {
  taskId: string;
  fromUserId: number;
  toUserId: number;
  fileName: string;
  fileSize: number;
  created: number;
}

const TASK_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Task ids are the server's own UUIDs; anything else names no file (and never reaches the store). */
export function isTaskId(taskId: string): boolean {
  return TASK_ID.test(taskId);
}

// As TeamTalk's offline_file/<first two characters>/<task id>, under "offline/" beside msfs's "nnn/nnn/" keys.
export const offlineKeys = {
  data: (taskId: string) => `offline/${taskId.slice(0, 2)}/${taskId}`,
  meta: (taskId: string) => `offline/${taskId.slice(0, 2)}/${taskId}.json`,
} as const;

/**
 * Offline files on the storage backend shared with msfs: the bytes, then a
 * small JSON description written once the bytes are complete (a file without
 * one was never finished and is not served).
 */
export class OfflineStore {
  constructor(private readonly store: FileStore) {}

  /** Starts storing a file; write its bytes into `sink`, end it, then await `done`. */
  begin(taskId: string): { sink: PassThrough; done: Promise<void> } {
    const sink = new PassThrough({ highWaterMark: 256 * 1024 });
    const done = this.store.put(offlineKeys.data(taskId), sink, 'application/octet-stream');
    return { sink, done };
  }

  async finish(meta: OfflineFileMeta): Promise<void> {
    const body = Buffer.from(JSON.stringify(meta), 'utf8');
    await this.store.put(offlineKeys.meta(meta.taskId), Readable.from([body]), 'application/json');
  }

  /** The finished file's description, or undefined (unknown task id, unfinished upload, unreadable description). */
  async meta(taskId: string): Promise<OfflineFileMeta | undefined> {
    if (!isTaskId(taskId)) return undefined;
    const stored = await this.store.get(offlineKeys.meta(taskId));
    if (stored === undefined || stored.size > 16 * 1024) return undefined;
    const chunks: Buffer[] = [];
    for await (const c of stored.body) chunks.push(c as Buffer);
    try {
      const m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<OfflineFileMeta>;
      if (m.taskId !== taskId || typeof m.fromUserId !== 'number' || typeof m.toUserId !== 'number' || typeof m.fileSize !== 'number') return undefined;
      return { taskId, fromUserId: m.fromUserId, toUserId: m.toUserId, fileName: String(m.fileName ?? ''), fileSize: m.fileSize, created: Number(m.created ?? 0) };
    } catch {
      return undefined;
    }
  }

  /** The file's bytes, streamed; undefined when gone. */
  async open(taskId: string): Promise<Readable | undefined> {
    return (await this.store.get(offlineKeys.data(taskId)))?.body;
  }

  /** Drops an unfinished upload's bytes. */
  async discard(taskId: string): Promise<void> {
    await this.store.remove(offlineKeys.data(taskId));
  }
}
