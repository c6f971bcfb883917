// A private redis-server that keeps nothing on disk (as the machine's Redis
// here): a restart comes back empty.
import { Redis } from 'ioredis';
import { freePort } from './ports';
import { PrivateServer, type ServerCommand } from './private-server';

export class PrivateRedis extends PrivateServer {
  static async start(): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort());
    await server.start();
    return server;
  }

  private constructor(port: number) {
    super('redis', port);
  }

  /** redis://127.0.0.1:<port>/<db> */
  url(db = 0): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  /** FLUSHALL: every db empty, as after a restart. */
  async flushAll(): Promise<void> {
    const redis = new Redis(this.url(), { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      await redis.flushall();
    } finally {
      redis.disconnect();
    }
  }

  protected command(): ServerCommand {
    return {
      bin: '/usr/bin/redis-server',
      args: ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'no', '--dir', this.dir, '--daemonize', 'no'],
    };
  }

  protected async answers(): Promise<boolean> {
    const redis = new Redis(this.url(), { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return (await redis.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      redis.disconnect();
    }
  }
}
