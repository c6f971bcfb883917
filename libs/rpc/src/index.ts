export { createServer, bindServer, createClient, MAX_MESSAGE_BYTES } from './channel';
export { unaryCall, openBidi, openClientStream } from './call';
export type { ClientMethod, UnaryCallOptions } from './call';
export { InstancePool } from './instance-pool';
export type { InstancePoolOptions, InstancePoolEvents, PoolPick } from './instance-pool';
export { callWithFailover } from './failover';
export type { FailoverOptions } from './failover';
export { rpcError, errorCode, isUnavailable, isConnectionFailure, isServiceError, errorDetails } from './status';
export { NoInstanceError } from './errors';
