import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { createSecureContext } from 'node:tls';

export interface PemPaths {
  /** Certificate (PEM, chain allowed). */
  readonly cert: string;
  /** Its private key (PEM). */
  readonly key: string;
  /** CA bundle to trust (PEM), for mutual TLS. */
  readonly ca?: string;
}

export interface PemMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
}

/** A CA, certificate or key file could not be read, or the key does not match the certificate. */
export class TlsFilesError extends Error {
  override readonly name = 'TlsFilesError';
  readonly code = 'TLS_FILES_INVALID';
}

/**
 * Reads the files and proves they form a usable TLS identity (PEM parses, key
 * matches certificate): what every reload checks before it replaces the pair
 * in use, so a half-written rotation (new certificate, old key) is refused.
 */
export function readPemFiles(paths: PemPaths): PemMaterial {
  const read = (what: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new TlsFilesError(`cannot read the ${what} file ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  // The CA first: with every file missing, the report names the CA (the first thing mTLS needs).
  const ca = paths.ca !== undefined ? read('CA', paths.ca) : undefined;
  const material = { cert: read('certificate', paths.cert), key: read('key', paths.key), ...(ca !== undefined ? { ca } : {}) };
  try {
    createSecureContext(material);
  } catch (err) {
    const files = [paths.cert, paths.key, ...(paths.ca !== undefined ? [paths.ca] : [])].join(' / ');
    throw new TlsFilesError(`${files} are not a usable TLS identity: ${err instanceof Error ? err.message : String(err)}`);
  }
  return material;
}

/**
 * Polls the files' stats every `intervalMs` and calls `onChange` when one
 * changed (mtime, inode or size). Polling by path also sees a file replaced by
 * rename or a symlink swap (Kubernetes secrets), which an inotify watch on the
 * old inode misses. Returns the function that stops watching.
 */
export function watchPemFiles(files: readonly string[], intervalMs: number, onChange: () => void): () => void {
  const listener = (cur: Stats, prev: Stats): void => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) onChange();
  };
  const unique = [...new Set(files)];
  for (const file of unique) watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return () => {
    for (const file of unique) unwatchFile(file, listener);
  };
}
