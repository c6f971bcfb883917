import tls from 'node:tls';
import { readPemFiles, watchPemFiles } from './pem-files';

/**
 * A public-facing server certificate (TLS to clients) read from files and
 * swapped into every attached tls.Server (tls, https) on SIGHUP or when a file
 * changes. setSecureContext only affects handshakes that start afterwards, so
 * open connections keep going with the session they negotiated.
 */
export interface CertificateFiles {
  /** PEM certificate chain (leaf first). */
  readonly cert: string;
  /** PEM private key. */
  readonly key: string;
}

/** Anything with pino's info/warn; structural so this library needs no logger. */
export interface CertificateLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ServerCertificateOptions {
  logger: CertificateLogger;
  /**
   * How often the files' stat is polled (fs.watchFile). Polling by path also
   * sees a file replaced by rename or a symlink swap (Kubernetes secrets), which
   * an inotify watch on the old inode would miss. 0 = only SIGHUP/reload().
   */
  pollMs?: number;
  /** Reload on SIGHUP (default true). */
  sighup?: boolean;
}

/** What every client-facing TLS listener uses: TLS 1.2 at least, Node's default (modern) cipher list. */
export const CLIENT_TLS_MIN_VERSION: tls.SecureVersion = 'TLSv1.2';

export class ServerCertificate {
  private material: { cert: Buffer; key: Buffer };
  private readonly servers = new Set<tls.Server>();
  private readonly listeners: Array<() => void> = [];
  private closed = false;

  /** Throws when the files cannot be read or the key does not match the certificate. */
  constructor(
    readonly files: CertificateFiles,
    private readonly opts: ServerCertificateOptions,
  ) {
    this.material = readMaterial(files);
    const pollMs = opts.pollMs ?? 5_000;
    if (pollMs > 0) this.listeners.push(watchPemFiles([files.cert, files.key], pollMs, () => this.reload('file changed')));
    if (opts.sighup ?? true) {
      const onHup = (): void => {
        this.reload('SIGHUP');
      };
      process.on('SIGHUP', onHup);
      this.listeners.push(() => process.off('SIGHUP', onHup));
    }
  }

  /** Options for tls.createServer / https.createServer: the current key pair and the protocol floor. */
  serverOptions(): tls.TlsOptions {
    return { ...this.material, minVersion: CLIENT_TLS_MIN_VERSION };
  }

  /** New handshakes on `server` use every later reload. */
  attach(server: tls.Server): void {
    this.servers.add(server);
  }

  detach(server: tls.Server): void {
    this.servers.delete(server);
  }

  /**
   * Reads the files again; when they form a valid pair, new handshakes use
   * them. A half-written pair (new certificate, old key) is refused and the
   * current one kept: the next change (the key arriving) reloads again.
   */
  reload(why = 'reload()'): boolean {
    if (this.closed) return false;
    let next: { cert: Buffer; key: Buffer };
    try {
      next = readMaterial(this.files);
    } catch (err) {
      this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err), cert: this.files.cert, why }, 'client TLS certificate not reloaded; keeping the current one');
      return false;
    }
    this.material = next;
    for (const server of this.servers) server.setSecureContext(this.serverOptions());
    this.opts.logger.info({ cert: this.files.cert, why, servers: this.servers.size }, 'client TLS certificate reloaded');
    return true;
  }

  close(): void {
    this.closed = true;
    for (const off of this.listeners.splice(0)) off();
    this.servers.clear();
  }
}

function readMaterial(files: CertificateFiles): { cert: Buffer; key: Buffer } {
  const { cert, key } = readPemFiles(files);
  return { cert, key };
}
