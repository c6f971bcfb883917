// A private single-member etcd with its own data dir, client and peer ports.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { freePort } from './ports';
import { PrivateServer, type ServerCommand } from './private-server';

/** etcd serving TLS and requiring client certificates signed by `ca` (as `make up` runs it). */
export interface PrivateEtcdTls {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** A client certificate the readiness probe presents. */
  readonly probeCert: string;
  readonly probeKey: string;
}

export class PrivateEtcd extends PrivateServer {
  static async start(tls?: PrivateEtcdTls): Promise<PrivateEtcd> {
    const server = new PrivateEtcd(await freePort(), await freePort(), tls);
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
    readonly tls?: PrivateEtcdTls,
  ) {
    super('etcd', port);
  }

  /** The client URL (TT_ETCD_ENDPOINTS). */
  get endpoint(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
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
        ...(this.tls
          ? ['--cert-file', this.tls.cert, '--key-file', this.tls.key, '--client-cert-auth', '--trusted-ca-file', this.tls.ca]
          : []),
      ],
    };
  }

  protected answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const opts = { host: '127.0.0.1', port: this.port, path: '/health', timeout: 1000 };
      const onResponse = (res: http.IncomingMessage): void => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
      };
      const req = this.tls
        ? https.get({ ...opts, ca: readFileSync(this.tls.ca), cert: readFileSync(this.tls.probeCert), key: readFileSync(this.tls.probeKey) }, onResponse)
        : http.get(opts, onResponse);
      req.once('timeout', () => req.destroy());
      req.once('error', () => resolve(false));
    });
  }
}
