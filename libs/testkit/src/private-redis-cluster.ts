// A private three-master Redis Cluster (no replicas, nothing on disk) for
// tests of the cluster mode: redis-server --cluster-enabled on free ports in
// temp dirs, joined by `redis-cli --cluster create`. Only the PIDs spawned
// here are ever signalled.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './ports';
import { PrivateServer, type ServerCommand } from './private-server';
import { waitFor } from './wait';

const run = promisify(execFile);
const CLUSTER_OK_TIMEOUT_MS = 30_000;
const MASTERS = 3;

class ClusterNode extends PrivateServer {
  static async create(): Promise<ClusterNode> {
    return new ClusterNode(await freePort(), await freePort());
  }

  private constructor(
    port: number,
    /** Cluster bus port (Redis 7 cluster-port; by default it would be port + 10000). */
    readonly busPort: number,
  ) {
    super('redis-cluster-node', port);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  protected command(): ServerCommand {
    return {
      bin: '/usr/bin/redis-server',
      args: [
        '--bind', '127.0.0.1',
        '--port', String(this.port),
        '--cluster-enabled', 'yes',
        '--cluster-port', String(this.busPort),
        '--cluster-config-file', 'nodes.conf',
        '--cluster-node-timeout', '5000',
        '--save', '',
        '--appendonly', 'no',
        '--dir', this.dir,
        '--daemonize', 'no',
      ],
    };
  }

  protected async answers(): Promise<boolean> {
    return (await this.info('PING')) === 'PONG';
  }

  /** One command on this node alone (not through the cluster); undefined while it does not answer. */
  async info(...command: [string, ...string[]]): Promise<string | undefined> {
    const redis = new Redis({ host: '127.0.0.1', port: this.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      const [name, ...args] = command;
      return String(await redis.call(name, ...args));
    } catch {
      return undefined;
    } finally {
      redis.disconnect();
    }
  }
}

export class PrivateRedisCluster {
  static async start(): Promise<PrivateRedisCluster> {
    const nodes: ClusterNode[] = [];
    const cluster = new PrivateRedisCluster(nodes);
    try {
      for (let i = 0; i < MASTERS; i++) {
        const node = await ClusterNode.create();
        nodes.push(node);
        await node.start();
      }
      await run('/usr/bin/redis-cli', ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', '0', '--cluster-yes'], { timeout: CLUSTER_OK_TIMEOUT_MS });
      await cluster.waitUntilOk();
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  private constructor(private readonly nodes: ClusterNode[]) {}

  /** The setting naming this cluster: redis-cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,127.0.0.1:<p3> */
  url(): string {
    return `redis-cluster://${this.nodes.map((n) => n.address).join(',')}`;
  }

  get ports(): number[] {
    return this.nodes.map((n) => n.port);
  }

  /** Every node says cluster_state:ok and knows all masters (slots assigned and gossiped). */
  async waitUntilOk(): Promise<void> {
    await waitFor(
      async () => {
        for (const node of this.nodes) {
          const info = await node.info('CLUSTER', 'INFO');
          if (info === undefined || !/cluster_state:ok/.test(info) || !new RegExp(`cluster_known_nodes:${MASTERS}\\b`).test(info)) return false;
        }
        return true;
      },
      CLUSTER_OK_TIMEOUT_MS,
      { intervalMs: 100, what: 'redis cluster_state:ok on every node' },
    );
  }

  /** FLUSHALL on every master. */
  async flushAll(): Promise<void> {
    for (const node of this.nodes) if ((await node.info('FLUSHALL')) !== 'OK') throw new Error(`FLUSHALL failed on ${node.address}`);
  }

  /** Kills every node (by the PID spawned) and removes their directories; idempotent. */
  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
  }

  logTails(): string {
    return this.nodes.map((n) => `--- ${n.address} ---\n${n.logTail()}`).join('\n');
  }
}
