import { createPool, Pool, PoolOptions } from 'mysql2/promise';

/** Master takes every write; the replica serves reads that tolerate lag (storage.md: TeamTalk's teamtalk_master/slave). */
export interface MysqlPools {
  master: Pool;
  /**
   * Connections to the master that accept multi-statement queries, used only
   * by the message transaction (statements formatted with bound parameters).
   */
  writer: Pool;
  replica: Pool;
  close(): Promise<void>;
}

function poolOptions(url: string, size: number): PoolOptions {
  return {
    uri: url,
    connectionLimit: size,
    waitForConnections: true,
    // Multi-row INSERTs of a full batch of 4 KiB messages stay far below this.
    maxPreparedStatements: 256,
    charset: 'utf8mb4',
    supportBigNumbers: true,
    // TeamTalk stores all times as int(11) unsigned; nothing here is a DATETIME.
    dateStrings: true,
    enableKeepAlive: true,
  };
}

export function createMysqlPools(masterUrl: string, replicaUrl: string | undefined, size: number): MysqlPools {
  const master = createPool(poolOptions(masterUrl, size));
  const writer = createPool({ ...poolOptions(masterUrl, Math.max(2, Math.ceil(size / 2))), multipleStatements: true });
  const replica = replicaUrl === undefined || replicaUrl === masterUrl ? master : createPool(poolOptions(replicaUrl, size));
  return {
    master,
    writer,
    replica,
    async close() {
      await Promise.all([master.end(), writer.end()]);
      if (replica !== master) await replica.end();
    },
  };
}
