import type { Readable } from 'node:stream';

/** A stored file's bytes, streamed. */
export interface StoredFile {
  size: number;
  body: Readable;
}

/**
 * Where uploads are kept. Keys come from file-path.ts only ("nnn/nnn/name.ext"),
 * never from a client unchecked; each backend still refuses one that could leave its root.
 */
export interface FileStore {
  /** Streams `body` to `key`; visible to `get` only once complete. Rejects (and keeps nothing) if `body` fails. */
  put(key: string, body: Readable, contentType: string): Promise<void>;
  /** undefined when no such file. */
  get(key: string): Promise<StoredFile | undefined>;
  /** Deletes a file (an upload refused after it was stored); no error when it is already gone. */
  remove(key: string): Promise<void>;
  /** Resolves while the store is usable (readiness probe). */
  check(): Promise<void>;
  /** What the store is, for logs: "local /srv/msfs", "s3 bucket/prefix". */
  readonly description: string;
  close(): void;
}

const KEY = /^\d{3}\/\d{3}\/[A-Za-z0-9_]{1,64}\.[A-Za-z0-9]{1,15}$/;

/** Throws unless `key` has file-path.ts's shape (no "..", no absolute path, no other separators). */
export function assertSafeKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`refused storage key ${JSON.stringify(key)}`);
}
