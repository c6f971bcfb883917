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
