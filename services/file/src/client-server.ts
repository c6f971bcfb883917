import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ClientSession, type SessionDeps } from './client-session';

export interface ClientServer {
  readonly port: number;
  close(): Promise<void>;
}

/** The TCP port TeamTalk clients connect to with the task id they got from their gateway. */
export async function startClientServer(host: string, port: number, deps: SessionDeps): Promise<ClientServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    new ClientSession(socket, deps);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
