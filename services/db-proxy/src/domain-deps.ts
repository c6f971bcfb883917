import type { Logger } from '@tiertalk/log';
import type { MysqlPools } from './store/mysql';
import type { RedisInstances } from './store/redis';

/** What each domain's RPC factory (handlers/<domain>/rpc.ts) is built from. */
export interface DomainDeps {
  mysql: MysqlPools;
  redis: RedisInstances;
  log: Logger;
}
