import { createPool, Pool, PoolOptions, RowDataPacket } from 'mysql2/promise';
import type { ShardPlacement } from './shard-map';
import { MessageShardServers, mainServer, remoteServer } from './shard-servers';

/** Master takes every write; the replica serves reads that tolerate lag (docs/STORAGE.md §1: TeamTalk's teamtalk_master/slave). */
export interface MysqlPools {
  master: Pool;
  /**
   * Connections to the master used only by the message transaction (its own
   * connections, so reads never wait behind commits). Single statements,
   * server-side prepared (sql-batch.ts).
   */
  writer: Pool;
  replica: Pool;
  /** Where each message shard lives: the master's pools, or another server's (TT_MYSQL_SHARDS). */
  shards: MessageShardServers;
  close(): Promise<void>;
}

/**
 * The sql_mode of every connection. mysql2 escapes values client-side for
 * `query()` with backslashes; with NO_BACKSLASH_ESCAPES in the server's mode
 * that escaping is wrong and a value can end its string literal (SQL
 * injection). Pinned per connection, so the server's global mode does not
 * matter; the strict modes keep MySQL from silently truncating values.
 */
export const PINNED_SQL_MODE = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

export interface PoolLimits {
  /** Connections per pool. */
  size: number;
  /** Requests waiting for a connection beyond which the pool fails fast ("Queue limit reached."); 0 = unbounded. */
  queueLimit: number;
}

export function mysqlPoolOptions(url: string, limits: PoolLimits): PoolOptions {
  return {
    uri: url,
    connectionLimit: limits.size,
    waitForConnections: true,
    queueLimit: limits.queueLimit,
    // Server-side prepared statements per connection: the message transaction's
    // multi-row shapes are bounded (sql-batch.ts), so these are reused, not churned.
    maxPreparedStatements: 512,
    multipleStatements: false,
    charset: 'utf8mb4',
    supportBigNumbers: true,
    // TeamTalk stores all times as int(11) unsigned; nothing here is a DATETIME.
    dateStrings: true,
    enableKeepAlive: true,
  };
}

/**
 * Every new connection of the pool runs SET sql_mode first: the pool emits
 * 'connection' before it hands the connection out, and a connection runs its
 * commands in order. A connection whose SET fails is destroyed, so no query
 * ever runs under the server's own mode.
 */
export function pinSqlMode(pool: Pool): Pool {
  pool.on('connection', (conn) => {
    // mysql2 emits its callback-style connection here, whatever its typings say.
    const core = conn as unknown as CallbackConnection;
    core.query(`SET SESSION sql_mode = '${PINNED_SQL_MODE}'`, (err) => {
      if (err) core.destroy();
    });
  });
  return pool;
}

interface CallbackConnection {
  query(sql: string, cb: (err: Error | null) => void): void;
  destroy(): void;
}

export function createPinnedPool(url: string, limits: PoolLimits): Pool {
  return pinSqlMode(createPool(mysqlPoolOptions(url, limits)));
}

export class SqlModeError extends Error {
  readonly code = 'SQL_MODE_NOT_PINNED';
  constructor(message: string) {
    super(message);
    this.name = 'SqlModeError';
  }
}

/** Start-up check: the server accepted the pinned mode (e.g. a proxy in between could drop session settings). */
export async function assertSqlModePinned(pool: Pool, what: string): Promise<void> {
  const [rows] = await pool.query<RowDataPacket[]>('SELECT @@SESSION.sql_mode AS mode');
  const mode = String(rows[0]?.mode ?? '');
  if (mode.split(',').includes('NO_BACKSLASH_ESCAPES') || mode !== PINNED_SQL_MODE) {
    throw new SqlModeError(`${what}: sql_mode of a connection is '${mode}', not the pinned '${PINNED_SQL_MODE}'; refusing to start`);
  }
}

/** mysql2's error when queueLimit requests already wait for a connection. */
export function isPoolQueueFull(err: unknown): boolean {
  return err instanceof Error && err.message === 'Queue limit reached.';
}

/**
 * `commitLanes`: message commits in flight at once (TT_STORE_COMMIT_LANES);
 * each holds one writer connection, so the writer pools get at least that many.
 */
export function createMysqlPools(masterUrl: string, replicaUrl: string | undefined, limits: PoolLimits, shardPlacements: readonly ShardPlacement[] = [], commitLanes = 1): MysqlPools {
  const writerLimits = { ...limits, size: Math.max(2, Math.ceil(limits.size / 2), commitLanes) };
  const master = createPinnedPool(masterUrl, limits);
  const writer = createPinnedPool(masterUrl, writerLimits);
  const replica = replicaUrl === undefined || replicaUrl === masterUrl ? master : createPinnedPool(replicaUrl, limits);
  // A shard server has no replica of its own here: its reads go to it, as the master's message reads do.
  const remote = shardPlacements.map((p) => remoteServer(p, createPinnedPool(p.url, limits), createPinnedPool(p.url, writerLimits)));
  return {
    master,
    writer,
    replica,
    shards: new MessageShardServers(mainServer(master, writer, shardPlacements), remote),
    async close() {
      await Promise.all([master.end(), writer.end(), ...remote.flatMap((s) => [s.pool.end(), s.writer.end()])]);
      if (replica !== master) await replica.end();
    },
  };
}

/** Start-up check of every pool. */
export async function assertPoolsPinned(pools: MysqlPools): Promise<void> {
  await assertSqlModePinned(pools.master, 'master');
  await assertSqlModePinned(pools.writer, 'writer');
  if (pools.replica !== pools.master) await assertSqlModePinned(pools.replica, 'replica');
  for (const server of pools.shards.remote) {
    await assertSqlModePinned(server.pool, `shard server ${server.name}`);
    await assertSqlModePinned(server.writer, `shard server ${server.name} (writer)`);
  }
}
