// A private MariaDB server: its own datadir (mariadb-install-db once), root
// without a password over TCP, no binary log. Stop/kill and start again keep
// the datadir, so what was committed survives as on a real server restart.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { freePort } from './ports';
import { PrivateServer, type ServerCommand } from './private-server';

const run = promisify(execFile);

export class PrivateMariaDb extends PrivateServer {
  static async start(): Promise<PrivateMariaDb> {
    const server = new PrivateMariaDb(await freePort());
    try {
      await run('/usr/bin/mariadb-install-db', [
        '--no-defaults',
        '--user=root',
        `--datadir=${server.dataDir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ], { timeout: 60_000 });
      await server.start();
    } catch (err) {
      await server.destroy();
      throw err;
    }
    return server;
  }

  private constructor(port: number) {
    super('mariadb', port);
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  /** mysql://root@127.0.0.1:<port>[/<database>] */
  url(database?: string): string {
    return `mysql://root@127.0.0.1:${this.port}${database ? `/${database}` : ''}`;
  }

  protected command(): ServerCommand {
    return {
      bin: '/usr/sbin/mariadbd',
      args: [
        // First: ignore /etc/mysql, which names the machine's own server.
        '--no-defaults',
        `--datadir=${this.dataDir}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${path.join(this.dir, 'mariadb.sock')}`,
        `--pid-file=${path.join(this.dir, 'mariadb.pid')}`,
        '--user=root',
        '--skip-name-resolve',
        '--skip-log-bin',
        // As the machine's server (Debian's 50-server.cnf).
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_general_ci',
        '--innodb-buffer-pool-size=128M',
        '--max-connections=300',
      ],
    };
  }

  protected async answers(): Promise<boolean> {
    try {
      const conn = await createConnection({ uri: this.url(), connectTimeout: 1000 });
      try {
        await conn.query('SELECT 1');
        return true;
      } finally {
        await conn.end();
      }
    } catch {
      return false;
    }
  }
}
