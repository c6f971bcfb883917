import type { Readable } from 'node:stream';

/** A stored file's bytes, streamed. */
export interface StoredFile {
  size: number;
  body: Readable;
}

/**
 * Where files are kept (msfs's images and voice, the file server's offline
 * files). Keys are made by the services ("nnn/nnn/name.ext", "offline/ab/<task>"),
 * never taken from a client unchecked; each backend still refuses one that could leave its root.
 */
export interface FileStore {
  /** Streams `body` to `key`; visible to `get` only once complete. Rejects (and keeps nothing) if `body` fails. */
  put(key: string, body: Readable, contentType: string): Promise<void>;
  /** undefined when no such file. */
  get(key: string): Promise<StoredFile | undefined>;
  /** Deletes a file; no error when it is already gone. */
  remove(key: string): Promise<void>;
  /** Resolves while the store is usable (readiness probe). */
  check(): Promise<void>;
  /** What the store is, for logs: "local /srv/msfs", "s3 bucket/prefix". */
  readonly description: string;
  close(): void;
}

// 1..4 segments of letters, digits, "_", "-" and "." that do not start with "." (no "..", no hidden files).
const SEGMENT = '[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}';
const KEY = new RegExp(`^${SEGMENT}(/${SEGMENT}){0,3}$`);

/** Throws unless `key` is relative, has no "." / ".." segments, no empty segment and no other separators. */
export function assertSafeKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`refused storage key ${JSON.stringify(key)}`);
}
