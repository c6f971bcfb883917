import type * as grpc from '@grpc/grpc-js';
import { readPemFiles, watchPemFiles, TlsFilesError } from '@tiertalk/tls';

export { TlsFilesError };

type CertificateProvider = grpc.experimental.CertificateProvider;
type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

export interface TlsFilePaths {
  /** PEM bundle of the CA(s) that sign every tier's certificate. */
  readonly ca: string;
  /** This process's certificate (PEM, chain allowed). */
  readonly cert: string;
  /** Its private key (PEM). */
  readonly key: string;
}

export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Reads the three files and proves they form a usable TLS identity (key matches certificate, PEM parses). */
export function readTlsMaterial(paths: TlsFilePaths): TlsMaterial {
  return readPemFiles(paths) as TlsMaterial;
}

export interface CertificateFilesOptions {
  /** How often the files are stat'ed for changes; 0 = only on reload(). Default 5000 ms. */
  readonly pollIntervalMs?: number;
  /** Told about every reload (new certificate in use, or the bad files left unused). */
  readonly onReload?: (result: { ok: true } | { ok: false; error: Error }) => void;
}

/**
 * The CA, certificate and key of this process as a grpc-js certificate
 * provider: servers and channels built on it take every reload for their NEW
 * handshakes, while established connections (and their streams) keep the
 * context they were made with. Reloads come from reload() (SIGHUP) and from
 * polling the files' stats (watchFile follows paths, so a renamed-over file or
 * a Kubernetes secret's symlink swap is seen; fs.watch is not reliable there).
 *
 * Not grpc-js's FileWatcherCertificateProvider: that one re-reads on a timer
 * only, and publishes a half-rotated pair (new certificate, old key) or a
 * missing file as "no credentials", which makes the server drop every new
 * connection. Here a set of files that does not form a valid identity is
 * refused and the previous one stays in use.
 */
export class CertificateFiles implements CertificateProvider {
  private material: TlsMaterial;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly pollIntervalMs: number;
  private stopWatchingFiles: (() => void) | undefined;
  private closed = false;

  /** Reads the files at once: throws TlsFilesError when they are unusable (start-up must fail). */
  constructor(
    readonly paths: TlsFilePaths,
    private readonly opts: CertificateFilesOptions = {},
  ) {
    this.material = readTlsMaterial(paths);
    this.pollIntervalMs = opts.pollIntervalMs ?? 5000;
  }

  /** The material in use now. */
  get current(): TlsMaterial {
    return this.material;
  }

  /** Reads the files again; on success every listener gets the new material. Returns whether it was taken. */
  reload(): boolean {
    if (this.closed) return false;
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(this.paths);
    } catch (err) {
      this.opts.onReload?.({ ok: false, error: err instanceof Error ? err : new Error(String(err)) });
      return false;
    }
    this.material = next;
    for (const l of this.caListeners) l({ caCertificate: next.ca });
    for (const l of this.identityListeners) l({ certificate: next.cert, privateKey: next.key });
    this.opts.onReload?.({ ok: true });
    return true;
  }

  /** Stops watching the files (listeners keep the last material). */
  close(): void {
    this.closed = true;
    this.stopWatching();
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    this.startWatching();
    // grpc-js expects the first update asynchronously, as its own providers do.
    process.nextTick(listener, { caCertificate: this.material.ca });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.maybeStopWatching();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    this.startWatching();
    process.nextTick(listener, { certificate: this.material.cert, privateKey: this.material.key });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.maybeStopWatching();
  }

  private startWatching(): void {
    if (this.stopWatchingFiles || this.closed || this.pollIntervalMs <= 0) return;
    this.stopWatchingFiles = watchPemFiles([this.paths.ca, this.paths.cert, this.paths.key], this.pollIntervalMs, () => this.reload());
  }

  private maybeStopWatching(): void {
    if (this.caListeners.size === 0 && this.identityListeners.size === 0) this.stopWatching();
  }

  private stopWatching(): void {
    this.stopWatchingFiles?.();
    this.stopWatchingFiles = undefined;
  }
}
