import net from 'node:net';

/**
 * Ports this process handed out lately. The kernel may give the same ephemeral
 * port to two listen(0) calls in a row once the first listener closed; a
 * service started with both (say its gRPC and WebSocket port) then fails with
 * EADDRINUSE. Remembering the last few thousand keeps one run's ports distinct.
 */
const handedOut = new Set<number>();
const HANDED_OUT_MAX = 4096;
const ATTEMPTS = 50;

/**
 * A TCP port that was free a moment ago on 127.0.0.1 and that this process has
 * not handed out lately. Another process may take it before the caller binds;
 * good enough for tests on one machine.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < ATTEMPTS; i += 1) {
    const port = await ephemeralPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (handedOut.size > HANDED_OUT_MAX) handedOut.delete(handedOut.values().next().value as number);
    return port;
  }
  throw new Error(`freePort: the kernel offered only ports handed out already (${ATTEMPTS} tries)`);
}

function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('freePort: listener has no TCP address'));
        return;
      }
      srv.close((err) => (err ? reject(err) : resolve(addr.port)));
    });
  });
}

/** True when something accepts TCP connections on host:port. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
