/**
 * The in-process lock every session of a process shares (refresh and authorization under one
 * holder at a time). A free lock is taken at once; a wait is bounded by LockTimeout.
 */
import { describe, expect, it } from "@effect/vitest";
import { Cause, Deferred, Effect, Exit, Fiber, Option } from "effect";
import { LockTimeout, makeInProcessLock } from "../../src/services/session-lock.js";

describe("makeInProcessLock", () => {
  it.live("40 concurrent holders of one name: one at a time, all served", () =>
    Effect.gen(function* () {
      const lock = makeInProcessLock();
      let inside = 0;
      let most = 0;
      const served = yield* Effect.forEach(
        Array.from({ length: 40 }, (_, i) => i),
        (i) =>
          lock.withLock(
            "tokens-a",
            Effect.gen(function* () {
              inside += 1;
              most = Math.max(most, inside);
              yield* Effect.sleep(1);
              inside -= 1;
              return i;
            }),
          ),
        { concurrency: "unbounded" },
      );
      expect(served).toHaveLength(40);
      expect(most).toBe(1);
    }),
  );

  it.live("other names are not held up", () =>
    Effect.gen(function* () {
      const lock = makeInProcessLock();
      const release = yield* Deferred.make<void>();
      const holder = yield* Effect.fork(lock.withLock("tokens-a", Deferred.await(release)));
      yield* Effect.sleep(5);
      expect(yield* lock.withLock("tokens-b", Effect.succeed("b"))).toBe("b");
      yield* Deferred.succeed(release, undefined);
      yield* Fiber.join(holder);
    }),
  );

  it.live(
    "a waiter gives up with LockTimeout while the holder keeps it; then the lock is free again",
    () =>
      Effect.gen(function* () {
        const lock = makeInProcessLock();
        const release = yield* Deferred.make<void>();
        const holder = yield* Effect.fork(lock.withLock("tokens-a", Deferred.await(release)));
        yield* Effect.sleep(5);
        const waited = yield* Effect.exit(
          lock.withLock("tokens-a", Effect.succeed("never"), { waitMillis: 50 }),
        );
        expect(Exit.isFailure(waited)).toBe(true);
        if (Exit.isFailure(waited)) {
          const error = Option.getOrUndefined(Cause.failureOption(waited.cause));
          expect(error).toBeInstanceOf(LockTimeout);
          expect(error).toMatchObject({ name: "tokens-a", waitMillis: 50 });
        }
        yield* Deferred.succeed(release, undefined);
        yield* Fiber.join(holder);
        expect(yield* lock.withLock("tokens-a", Effect.succeed("free"), { waitMillis: 50 })).toBe(
          "free",
        );
      }),
  );

  it.live("a failing or interrupted holder releases the lock", () =>
    Effect.gen(function* () {
      const lock = makeInProcessLock();
      const failed = yield* Effect.exit(lock.withLock("tokens-a", Effect.fail("boom")));
      expect(failed).toStrictEqual(Exit.fail("boom"));
      const holder = yield* Effect.fork(lock.withLock("tokens-a", Effect.never));
      yield* Effect.sleep(5);
      yield* Fiber.interrupt(holder);
      expect(yield* lock.withLock("tokens-a", Effect.succeed("free"), { waitMillis: 50 })).toBe(
        "free",
      );
    }),
  );

  it.live("an interrupted waiter does not take the lock from the next one", () =>
    Effect.gen(function* () {
      const lock = makeInProcessLock();
      const release = yield* Deferred.make<void>();
      const holder = yield* Effect.fork(lock.withLock("tokens-a", Deferred.await(release)));
      yield* Effect.sleep(5);
      const waiter = yield* Effect.fork(lock.withLock("tokens-a", Effect.succeed("w")));
      yield* Effect.sleep(5);
      yield* Fiber.interrupt(waiter);
      yield* Deferred.succeed(release, undefined);
      yield* Fiber.join(holder);
      expect(yield* lock.withLock("tokens-a", Effect.succeed("next"), { waitMillis: 50 })).toBe(
        "next",
      );
    }),
  );

  // Both paths — a free lock taken at once, a busy one waited for — hand the lock over.
  it.live("a fast-path holder that fails or is interrupted hands over to a queued waiter", () =>
    Effect.gen(function* () {
      const lock = makeInProcessLock();
      for (const end of ["fail", "interrupt"] as const) {
        const go = yield* Deferred.make<void>();
        const holder = yield* Effect.fork(
          lock.withLock("n", Effect.zipRight(Deferred.await(go), Effect.fail("boom"))),
        );
        yield* Effect.sleep(5);
        const waiter = yield* Effect.fork(
          lock.withLock("n", Effect.succeed("w"), { waitMillis: 500 }),
        );
        yield* Effect.sleep(5);
        if (end === "fail") yield* Deferred.succeed(go, undefined);
        else yield* Fiber.interrupt(holder);
        expect(yield* Fiber.join(waiter)).toBe("w");
        expect(Exit.isFailure(yield* Fiber.await(holder))).toBe(true);
      }
    }),
  );

  it.live("an interrupted waiting-path holder releases; uninterruptible caller stays so", () =>
    Effect.gen(function* () {
      const lock = makeInProcessLock();
      const release = yield* Deferred.make<void>();
      const first = yield* Effect.fork(lock.withLock("n", Deferred.await(release)));
      yield* Effect.sleep(5);
      const second = yield* Effect.fork(lock.withLock("n", Effect.never, { waitMillis: 500 }));
      yield* Effect.sleep(5);
      yield* Deferred.succeed(release, undefined);
      yield* Fiber.join(first);
      yield* Effect.sleep(5);
      yield* Fiber.interrupt(second);
      expect(yield* lock.withLock("n", Effect.succeed("free"), { waitMillis: 100 })).toBe("free");
      // Caller uninterruptible: restore must not make the body interruptible.
      const seen = yield* Effect.uninterruptible(
        lock.withLock(
          "n",
          Effect.checkInterruptible((b) => Effect.succeed(b)),
        ),
      );
      expect(seen).toBe(false);
    }),
  );
});
