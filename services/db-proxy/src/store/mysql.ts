import { createPool, Pool, PoolOptions } from 'mysql2/promise';

/** Master takes every write; the replica serves reads that tolerate lag (storage.md: TeamTalk's teamtalk_master/slave). */
export interface MysqlPools {
  master: Pool;
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
  const replica = replicaUrl === undefined || replicaUrl === masterUrl ? master : createPool(poolOptions(replicaUrl, size));
  return {
    master,
    replica,
    async close() {
      await master.end();
      if (replica !== master) await replica.end();
    },
  };
}
