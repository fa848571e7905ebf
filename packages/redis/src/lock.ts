/**
 * core's SessionLock on Redis, for replicas on any number of hosts: a lease with a fencing token.
 *
 * - Acquire: one script (scripts.ts `acquire`) sets `<prefix>lock:<name>` to
 *   `<fence>:<holder id>` with a time to live (`leaseMillis`) if nobody holds it, the fence being
 *   the next number of `<prefix>fence:<name>`. Waiters poll with jitter, backing off, for at most
 *   `waitMillis` (LockTimeout).
 * - Heartbeat: while its effect runs, the holder extends its lease every `heartbeatMillis` (only
 *   if the lease is still its own). A live holder doing a slow refresh keeps the lock however long
 *   it takes; a crashed one (a kill, a lost host) stops extending it and its lease expires within
 *   `leaseMillis`, when another replica takes the lock.
 * - Fencing: the effect runs with its lease's fencing token in a FiberRef (`currentLeases`); the
 *   Redis store of this package reads it and makes its token writes conditional on it. A holder
 *   paused past its lease (a stopped process, a long GC, a partition) whose lock was taken over
 *   has its write refused instead of overwriting the newer holder's token set.
 * - Release: deletes the lease only if it is still the holder's.
 *
 * Redis unreachable for `operationTimeoutMillis` while acquiring: LockFailed (core's refresh then
 * keeps the current token until it expires). A release or a heartbeat that fails is not retried:
 * the lease then simply expires.
 *
 * @see https://datatracker.ietf.org/doc/html/rfc9700#section-4.14.2 (why a refresh is done once)
 * @see https://martin.kleppmann.com/2016/02/08/how-to-do-distributed-locking.html (fencing)
 */
import { randomUUID } from "node:crypto";
import {
  defaultLockWaitMillis,
  LockFailed,
  LockTimeout,
  type SessionLockService,
} from "@authchart/core";
import { Clock, Duration, Effect, Fiber, FiberRef, Schedule } from "effect";
import type { RedisConnection, ScriptedRedis } from "./connection.js";
import type { RedisKeys } from "./keys.js";

export interface RedisLockOptions {
  /**
   * How long a lease lasts without a heartbeat: the longest a crashed holder keeps others
   * waiting. Default 10 s.
   */
  readonly leaseMillis?: number | undefined;
  /** How often a holder extends its lease. Keep it well under `leaseMillis`. Default a third of it. */
  readonly heartbeatMillis?: number | undefined;
  /** The first poll interval while waiting; it doubles up to `maxPollMillis`, jittered. Default 10 ms. */
  readonly pollMillis?: number | undefined;
  /** Default 200 ms. */
  readonly maxPollMillis?: number | undefined;
}

/** A lease this fiber holds: what a fenced write sends along. */
export interface Lease {
  /** The fence counter's key: a store of another prefix does not use this lease. */
  readonly fenceKey: string;
  readonly fence: number;
}

/** The leases held by the fiber that runs a lock's effect, by lock name. */
export const currentLeases = FiberRef.unsafeMake<ReadonlyMap<string, Lease>>(new Map());

export const defaultLeaseMillis = 10_000;

export const makeRedisLock = (
  connection: RedisConnection,
  keys: RedisKeys,
  options: RedisLockOptions = {},
): SessionLockService => {
  const leaseMillis = Math.max(1, options.leaseMillis ?? defaultLeaseMillis);
  const heartbeatMillis = Math.max(1, options.heartbeatMillis ?? Math.floor(leaseMillis / 3));
  const pollMillis = options.pollMillis ?? 10;
  const maxPollMillis = options.maxPollMillis ?? 200;
  const redis = () => connection.redis as ScriptedRedis;
  return {
    withLock: (name, effect, lockOptions) => {
      const waitMillis = lockOptions?.waitMillis ?? defaultLockWaitMillis;
      const lockKey = keys.lock(name);
      const fenceKey = keys.fence(name);
      const holder = randomUUID();
      const failed = (operation: string) => (error: { readonly message: string }) =>
        new LockFailed({ name, operation, reason: error.message });
      const attempt = connection
        .run(() => redis().authchartAcquire(lockKey, fenceKey, holder, String(leaseMillis)))
        .pipe(Effect.mapError(failed("acquire")));
      // Uninterruptible but for the sleeps between attempts: a lease obtained goes straight to
      // the release below (an interruption in between would leave it until it expires).
      const acquire = (restore: <A, E, R>(e: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
        Effect.gen(function* () {
          const deadline = (yield* Clock.currentTimeMillis) + waitMillis;
          for (let round = 0; ; round++) {
            const fence = Number(yield* attempt);
            if (fence > 0) return fence;
            const left = deadline - (yield* Clock.currentTimeMillis);
            if (left <= 0) return yield* new LockTimeout({ name, waitMillis });
            const backoff = Math.min(pollMillis * 2 ** Math.min(round, 16), maxPollMillis);
            const jittered = backoff * (0.5 + Math.random());
            yield* restore(Effect.sleep(Duration.millis(Math.max(1, Math.min(jittered, left)))));
          }
        });
      return Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(acquire(restore), (fence) => {
          const value = `${fence}:${holder}`;
          const heartbeat = connection
            .run(() => redis().authchartRenew(lockKey, value, String(leaseMillis)))
            .pipe(
              Effect.either,
              // Lost (0): another holder has it now; stop beating. A failed beat is tried again.
              Effect.repeat({
                schedule: Schedule.spaced(Duration.millis(heartbeatMillis)),
                while: (result) => result._tag === "Left" || result.right === 1,
              }),
              Effect.delay(Duration.millis(heartbeatMillis)),
            );
          const release = connection
            .run(() => redis().authchartRelease(lockKey, value))
            .pipe(Effect.ignore);
          // Forked interruptible: a fiber forked here would inherit the mask, and never stop.
          return Effect.flatMap(Effect.forkDaemon(Effect.interruptible(heartbeat)), (beating) =>
            restore(
              Effect.locallyWith(effect, currentLeases, (leases) =>
                new Map(leases).set(name, { fenceKey, fence }),
              ),
            ).pipe(Effect.ensuring(Effect.zipRight(Fiber.interrupt(beating), release))),
          );
        }),
      );
    },
  };
};
