/**
 * A Redis credential store and lock over one connection, for replicas sharing one grant:
 * `RedisAuth.layer(options)` for Effect programs (core's CredentialStore and SessionLock), and
 * `redisAuth(options)` for `createSession({ store, lock })`.
 */
import {
  CredentialStore,
  type CredentialStoreService,
  SessionLock,
  type SessionLockService,
} from "@authchart/core";
import { Context, Effect, Exit, Layer, Scope } from "effect";
import { makeConnection, type RedisConnection, type RedisConnectionOptions } from "./connection.js";
import { defaultPrefix, type RedisKeys, redisKeys } from "./keys.js";
import { makeRedisLock, type RedisLockOptions } from "./lock.js";
import { makeRedisStore } from "./store.js";

export interface RedisAuthOptions extends RedisConnectionOptions {
  /** Every key starts with it (see keys.ts). Default `authchart:`. */
  readonly prefix?: string | undefined;
  /** The lease lock's timing. */
  readonly lock?: RedisLockOptions | undefined;
}

export interface RedisAuthService {
  readonly store: CredentialStoreService;
  readonly lock: SessionLockService;
  readonly keys: RedisKeys;
  readonly connection: RedisConnection;
}

/** The store and the lock over one connection, closed with the scope (if it is this package's). */
export const makeRedisAuth = (options: RedisAuthOptions = {}) =>
  Effect.acquireRelease(
    Effect.sync((): RedisAuthService => {
      const connection = makeConnection(options);
      const keys = redisKeys(options.prefix ?? defaultPrefix);
      return {
        store: makeRedisStore(connection, keys),
        lock: makeRedisLock(connection, keys, options.lock),
        keys,
        connection,
      };
    }),
    (auth) => Effect.promise(() => auth.connection.close()),
  );

export class RedisAuth extends Context.Tag("@authchart/redis/RedisAuth")<
  RedisAuth,
  RedisAuthService
>() {
  static readonly make = makeRedisAuth;

  /** Provides RedisAuth, and core's CredentialStore and SessionLock over it. */
  static readonly layer = (
    options: RedisAuthOptions = {},
  ): Layer.Layer<RedisAuth | CredentialStore | SessionLock> =>
    Layer.scopedContext(
      Effect.map(makeRedisAuth(options), (auth) =>
        Context.make(RedisAuth, auth).pipe(
          Context.add(CredentialStore, auth.store),
          Context.add(SessionLock, auth.lock),
        ),
      ),
    );
}

/** For `createSession({ store, lock })`; `close()` ends the connection (if it is this package's). */
export const redisAuth = async (
  options: RedisAuthOptions = {},
): Promise<RedisAuthService & { readonly close: () => Promise<void> }> => {
  const scope = Effect.runSync(Scope.make());
  const auth = await Effect.runPromise(Scope.extend(makeRedisAuth(options), scope));
  return { ...auth, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) };
};
