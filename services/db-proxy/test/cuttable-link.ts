// A TCP relay in front of MariaDB whose links the test can break, to lose a
// reply the server did send (the "committed but the reply was lost" case) or
// a request before it reached the server. Real sockets, real server.
import net from 'node:net';

/**
 * drop-commit-reply: replies pass until the client sends a COMMIT statement;
 * from then on that connection's replies are withheld (the transaction's
 * statements run one per round trip, so only COMMIT's reply may be lost for
 * the server to have committed).
 */
export type LinkMode = 'pass' | 'drop-replies' | 'drop-requests' | 'drop-commit-reply';

export interface CuttableLink {
  /** mysql:// URL of the database through the relay. */
  url(database: string): string;
  mode: LinkMode;
  /** Chunks of client data swallowed in 'drop-requests' mode. */
  droppedRequests: number;
  /** Closes every relayed connection, both sides. */
  cut(): void;
  close(): Promise<void>;
}

export async function openCuttableLink(upstreamHost = '127.0.0.1', upstreamPort = 3306): Promise<CuttableLink> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const link: CuttableLink = {
    mode: 'pass',
    droppedRequests: 0,
    url: (database) => `mysql://root@127.0.0.1:${port}/${database}`,
    cut() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    async close() {
      link.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, upstreamHost);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    let commitSent = false;
    client.on('data', (d) => {
      if (link.mode === 'drop-commit-reply' && d.includes('COMMIT')) commitSent = true;
      if (link.mode !== 'drop-requests') upstream.write(d);
      else link.droppedRequests += 1;
    });
    upstream.on('data', (d) => {
      if (link.mode === 'drop-replies' || (link.mode === 'drop-commit-reply' && commitSent)) return;
      client.write(d);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return link;
}
