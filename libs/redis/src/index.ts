export { autoPipelinedCopy, createRedisClient, closeRedisClient, defineVariadicScript } from './client';
export type { RedisClient, RedisClientOptions } from './client';
export { hashedPart, onEveryMaster, slotTag, totalKeys } from './slots';
export { batch, deleteKeys } from './batch';
