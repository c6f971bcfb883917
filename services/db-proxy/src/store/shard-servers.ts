import type { Pool, RowDataPacket } from 'mysql2/promise';
import { IdempotencyStore } from './idempotency';
import { SHARD_COUNT } from './keys';
import { serverName, type ShardPlacement } from './shard-map';

// Where each message shard (IMMessage_n + IMGroupMessage_n) lives
// (TT_MYSQL_SHARDS, shard-map.ts): the main server (TT_MYSQL_MASTER_URL) or
// another MySQL server. Every read and write of a shard table goes through
// serverOf(), so a shard's rows are only ever looked for where they live.

/** One MySQL server holding message shards. */
export interface ShardServer {
  /** `main`, or `host:port/database` of another server (metrics, checks, logs). */
  readonly name: string;
  /** False for the server of TT_MYSQL_MASTER_URL, which also holds everything else. */
  readonly remote: boolean;
  readonly shards: readonly number[];
  /** Reads and single statements. */
  readonly pool: Pool;
  /** Message transactions (prepared statements, one at a time per connection). */
  readonly writer: Pool;
  /** This server's IMMsgIdempotency: a remote server's marks which messages of a commit it already holds. */
  readonly idempotency: IdempotencyStore;
}

export class MessageShardServers {
  private readonly byShard: ShardServer[];

  constructor(
    readonly main: ShardServer,
    readonly remote: readonly ShardServer[],
  ) {
    this.byShard = Array.from({ length: SHARD_COUNT }, () => main);
    for (const server of remote) for (const shard of server.shards) this.byShard[shard] = server;
  }

  /** Every shard on one server (the default). */
  static single(pool: Pool, writer: Pool): MessageShardServers {
    return new MessageShardServers(mainServer(pool, writer), []);
  }

  /** The server holding a relation's (1:1) or a group's messages: shard = id % 8. */
  serverOf(conversationId: number): ShardServer {
    return this.byShard[conversationId % SHARD_COUNT];
  }

  poolOf(conversationId: number): Pool {
    return this.serverOf(conversationId).pool;
  }

  get all(): ShardServer[] {
    return [this.main, ...this.remote];
  }

  /** Items grouped by the server of their conversation, in first-seen order. */
  group<T>(items: readonly T[], conversationOf: (item: T) => number): Map<ShardServer, T[]> {
    const out = new Map<ShardServer, T[]>();
    for (const item of items) {
      const server = this.serverOf(conversationOf(item));
      let list = out.get(server);
      if (list === undefined) out.set(server, (list = []));
      list.push(item);
    }
    return out;
  }
}

/** The master's pools as the server of the shards no placement moves elsewhere. */
export function mainServer(pool: Pool, writer: Pool, movedAway: readonly ShardPlacement[] = []): ShardServer {
  const moved = new Set(movedAway.flatMap((p) => p.shards));
  const shards = Array.from({ length: SHARD_COUNT }, (_, i) => i).filter((i) => !moved.has(i));
  return { name: 'main', remote: false, shards, pool, writer, idempotency: new IdempotencyStore(pool) };
}

export function remoteServer(placement: ShardPlacement, pool: Pool, writer: Pool): ShardServer {
  return { name: serverName(placement.url), remote: true, shards: placement.shards, pool, writer, idempotency: new IdempotencyStore(pool) };
}

export class ShardMapError extends Error {
  readonly code = 'SHARD_MAP_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ShardMapError';
  }
}

/**
 * Start-up check of the map against the servers: each remote server answers
 * and holds its shard tables (migrate-main creates them), and the main server
 * holds no rows of a shard mapped away (they would vanish from history: a
 * shard is moved by copying its rows first, docs/OPERATIONS.md).
 */
export async function checkShardPlacement(servers: MessageShardServers): Promise<void> {
  for (const server of servers.remote) {
    for (const shard of server.shards) {
      for (const table of [`IMMessage_${shard}`, `IMGroupMessage_${shard}`, 'IMMsgIdempotency']) {
        try {
          await server.pool.query(`SELECT 1 FROM ${table} LIMIT 0`);
        } catch (err) {
          const detail = err instanceof Error ? err.message : String(err);
          throw new ShardMapError(`shard ${shard} is mapped to ${server.name}, but ${table} cannot be read there (${detail}); run migrate-main with TT_MYSQL_SHARDS set`);
        }
      }
      for (const table of [`IMMessage_${shard}`, `IMGroupMessage_${shard}`]) {
        const [rows] = await servers.main.pool.query<RowDataPacket[]>(`SELECT 1 FROM ${table} LIMIT 1`);
        if (rows.length > 0) {
          throw new ShardMapError(`shard ${shard} is mapped to ${server.name}, but the main server still holds rows in ${table}: move them first (docs/OPERATIONS.md)`);
        }
      }
    }
  }
}
