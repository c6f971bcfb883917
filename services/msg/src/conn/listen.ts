import type net from 'node:net';
import type { Logger } from '@tiertalk/log';

/**
 * Starts listening; resolves with the bound port (port 0 = a free one).
 * Errors before the listener is up reject; later ones are logged.
 */
export function listen(server: net.Server, port: number, host: string, what: string, log: Logger): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', (err) => log.error({ err }, `${what} listener error`));
      const addr = server.address();
      resolve(addr !== null && typeof addr === 'object' ? addr.port : port);
    });
  });
}

export interface ClientListener {
  readonly port: number;
  /** Stops accepting; existing connections are left to the caller. */
  stopAccepting(): void;
}

/** The listener on `port`; its first stopAccepting runs `close` (shutdown may ask more than once). */
export function clientListener(port: number, close: () => void): ClientListener {
  let stopped = false;
  return {
    port,
    stopAccepting: () => {
      if (stopped) return;
      stopped = true;
      close();
    },
  };
}
