// A private single-member etcd with its own data dir, client and peer ports.
import http from 'node:http';
import path from 'node:path';
import { freePort } from './ports';
import { PrivateServer, type ServerCommand } from './private-server';

export class PrivateEtcd extends PrivateServer {
  static async start(): Promise<PrivateEtcd> {
    const server = new PrivateEtcd(await freePort(), await freePort());
    try {
      await server.start();
    } catch (err) {
      await server.destroy();
      throw err;
    }
    return server;
  }

  private constructor(
    port: number,
    readonly peerPort: number,
  ) {
    super('etcd', port);
  }

  /** The client URL (TT_ETCD_ENDPOINTS). */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  protected command(): ServerCommand {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    return {
      bin: '/usr/bin/etcd',
      args: [
        '--name', 'tt-private',
        '--data-dir', path.join(this.dir, 'data'),
        '--listen-client-urls', this.endpoint,
        '--advertise-client-urls', this.endpoint,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `tt-private=${peer}`,
      ],
    };
  }

  protected answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: this.port, path: '/health', timeout: 1000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
      });
      req.once('timeout', () => req.destroy());
      req.once('error', () => resolve(false));
    });
  }
}
