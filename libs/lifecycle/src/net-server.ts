import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';

/** Starts listening; resolves with the bound address (port 0 = a free one), rejects if binding fails. */
export function listen(server: Server, port: number, host: string, what: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error(`${what} has no TCP address`));
      else resolve(address);
    });
  });
}

/**
 * A close(graceMs) for an HTTP(S) server: stop accepting, close idle keep-alive
 * connections, cut the rest after graceMs; every call gets the same promise.
 * `beforeClose` runs once first (a TLS server detaches its certificate reloads).
 */
export function gracefulClose(server: HttpServer, beforeClose?: () => void): (graceMs?: number) => Promise<void> {
  let closing: Promise<void> | undefined;
  return (graceMs = 2000) => {
    closing ??= new Promise<void>((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), graceMs);
      beforeClose?.();
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };
}
