/**
 * The one Redis connection a store and a lock share, and how a command becomes an Effect with a
 * bounded time and a typed failure.
 *
 * Commands are not queued while Redis is unreachable (ioredis `enableOfflineQueue: false`): a
 * command sent then fails at once and is sent again here, every 50-200 ms, until it is answered
 * or `operationTimeoutMillis` has passed — then the operation fails with a RedisUnavailable that
 * the store turns into core's StoreFailed and the lock into LockFailed. An offline queue would
 * instead hold a command past its caller's timeout and run it later, unseen (a lock taken by
 * nobody). ioredis reconnects by itself; a command in flight when the connection dropped is
 * re-sent on reconnection (`autoResendUnfulfilledCommands`), which is why every write here is
 * idempotent (see scripts.ts).
 *
 * Errors never quote Redis's messages beyond their code (ECONNREFUSED, NOAUTH, WRONGTYPE): the
 * URL's password, a key or a value never reaches a message.
 */
import { Duration, Effect, Schema } from "effect";
import { Redis } from "ioredis";
import { scripts } from "./scripts.js";

/** A command Redis did not answer: unreachable, refused, or too slow. */
export class RedisUnavailable extends Schema.TaggedError<RedisUnavailable>()("RedisUnavailable", {
  reason: Schema.String,
}) {
  override get message() {
    return `Redis ${this.reason}`;
  }
}

export interface RedisConnectionOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]` (or `rediss://` for TLS). Default
   * `redis://127.0.0.1:6379`. Ignored when `client` is given.
   */
  readonly url?: string | undefined;
  /**
   * A client of the application's own (its options, its lifetime: it is not closed here). Set
   * `enableOfflineQueue: false` on it for the behaviour described above.
   */
  readonly client?: Redis | undefined;
  /** How long one operation may take, retries while Redis is unreachable included. Default 2 s. */
  readonly operationTimeoutMillis?: number | undefined;
}

export interface RedisConnection {
  readonly redis: Redis;
  /** Runs one command (or a few in one script), bounded and typed. */
  readonly run: <A>(command: (redis: Redis) => Promise<A>) => Effect.Effect<A, RedisUnavailable>;
  /** Quits the connection if it is this package's own. */
  readonly close: () => Promise<void>;
}

export const defaultOperationTimeoutMillis = 2_000;

/** The scripts of scripts.ts as commands of the client (EVALSHA, EVAL after a restart's NOSCRIPT). */
export type ScriptedRedis = Redis & {
  authchartSaveTokens(
    tokensKey: string,
    fenceKey: string,
    version: string,
    value: string,
    fence: string,
  ): Promise<string>;
  authchartDeleteTokens(tokensKey: string, fenceKey: string, fence: string): Promise<string>;
  authchartAcquire(
    lockKey: string,
    fenceKey: string,
    holder: string,
    leaseMillis: string,
  ): Promise<number>;
  authchartRenew(lockKey: string, value: string, leaseMillis: string): Promise<number>;
  authchartRelease(lockKey: string, value: string): Promise<number>;
};

const defineScripts = (redis: Redis): ScriptedRedis => {
  for (const [name, script] of Object.entries(scripts)) {
    if (!(name in redis)) redis.defineCommand(name, script);
  }
  return redis as ScriptedRedis;
};

const codeOf = (error: unknown): string => {
  if (typeof error !== "object" || error === null) return "failed";
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && /^[A-Z_]{2,32}$/.test(code)) return code;
  const message = (error as { message?: unknown }).message;
  // Redis error replies start with their code in capitals (WRONGTYPE, NOAUTH, NOPERM, ERR).
  const first = typeof message === "string" ? message.split(/\s/, 1)[0] : undefined;
  return first !== undefined && /^[A-Z]{2,32}$/.test(first) ? first : "failed";
};

/** An answer of Redis that says no (a script's error, a wrong type): sending it again will not help. */
const isReply = (error: unknown) =>
  typeof error === "object" &&
  error !== null &&
  (error as { name?: unknown }).name === "ReplyError";

export const makeConnection = (options: RedisConnectionOptions = {}): RedisConnection => {
  const own = options.client === undefined;
  const clientOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    // Reconnect quickly, then every quarter of a second: a Redis back from a restart is used
    // again within that, well inside an operation's bound.
    retryStrategy: (times: number) => Math.min(50 * times, 250),
    connectTimeout: 2_000,
  } as const;
  const redis = defineScripts(
    options.client ?? new Redis(options.url ?? "redis://127.0.0.1:6379", clientOptions),
  );
  /** What went wrong last (ioredis reports connection errors as events, not only on commands). */
  let lastConnectionError = "";
  if (own) {
    redis.on("error", (error: unknown) => {
      lastConnectionError = codeOf(error);
    });
    // Connect now, so the first operation does not wait for it; a failure is retried by ioredis.
    redis.connect().catch(() => undefined);
  }
  const timeoutMillis = options.operationTimeoutMillis ?? defaultOperationTimeoutMillis;
  const run = <A>(command: (redis: Redis) => Promise<A>) =>
    // Interruptible even where the caller is not (the lock's acquisition, a release): the bound
    // below must be able to end a command that never comes back.
    Effect.interruptible(
      Effect.gen(function* () {
        for (let attempt = 0; ; attempt++) {
          const result = yield* Effect.either(
            Effect.tryPromise({ try: () => command(redis), catch: (error) => error }),
          );
          if (result._tag === "Right") return result.right;
          const error = result.left;
          if (isReply(error))
            return yield* new RedisUnavailable({
              reason: `refused the command (${codeOf(error)})`,
            });
          // Not connected (yet or any more): wait a little and send it again, within the bound.
          yield* Effect.sleep(Duration.millis(Math.min(50 * 2 ** attempt, 200)));
        }
      }),
    ).pipe(
      Effect.timeoutFail({
        duration: Duration.millis(timeoutMillis),
        onTimeout: () =>
          new RedisUnavailable({
            reason:
              redis.status === "ready"
                ? `did not answer within ${timeoutMillis} ms`
                : `is unreachable (${lastConnectionError || redis.status}) for ${timeoutMillis} ms`,
          }),
      }),
    );
  return {
    redis,
    run,
    close: async () => {
      if (!own) return;
      await redis.quit().catch(() => redis.disconnect());
    },
  };
};
