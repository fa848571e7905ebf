/**
 * @authchart/redis — authchart across replicas: a credential store and a lease lock with a
 * fencing token on Redis, so that many processes sharing one grant make one refresh per rotation.
 */

export {
  defaultOperationTimeoutMillis,
  makeConnection,
  type RedisConnection,
  type RedisConnectionOptions,
  RedisUnavailable,
} from "./connection.js";
export { defaultPrefix, type RedisKeys, redisKeys } from "./keys.js";
export * from "./layers.js";
export {
  currentLeases,
  defaultLeaseMillis,
  type Lease,
  makeRedisLock,
  type RedisLockOptions,
} from "./lock.js";
export { makeRedisStore } from "./store.js";
