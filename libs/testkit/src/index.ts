// Real MariaDB, Redis, etcd and service processes for tests: never mocks.
export { repoRoot, testConfig } from './config';
export { MIGRATE_MAIN, flushTestRedis, prepareTestDatabase } from './database';
export { deletePrefix, testEtcd, uniquePrefix } from './etcd';
export type { EtcdTlsFiles } from './etcd';
export { canConnect, freePort } from './ports';
export { WaitTimeoutError, waitFor } from './wait';
export type { WaitOptions } from './wait';
export { Cluster, ClusterError } from './cluster';
export type { ClientTlsSpec, ClusterSpec, GatewayInfo, InstanceInfo, ServiceName } from './cluster';
export { PrivateServer } from './private-server';
export type { ServerCommand } from './private-server';
export { PrivateRedis } from './private-redis';
export { PrivateMariaDb } from './private-mariadb';
export { PrivateEtcd } from './private-etcd';
export type { PrivateEtcdTls } from './private-etcd';
export { testPki, tlsEnv } from './dev-pki';
export { AdminService } from './admin-service';
export type { AdminServiceOptions } from './admin-service';
