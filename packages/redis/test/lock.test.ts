/**
 * The Redis lease lock on a real redis-server and real processes: mutual exclusion across
 * connections, fencing tokens that grow, a live holder keeping its lease past `leaseMillis`, a
 * SIGKILLed holder's lease expiring, a holder stopped past its lease (SIGSTOP) whose token write
 * is refused once another took over, and Redis down as LockFailed.
 */
import { LockFailed, LockTimeout, tokenLockName } from "@authchart/core";
import { Deferred, Effect, Fiber, FiberRef, Option, Schedule } from "effect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { redisAuth } from "../src/layers.js";
import { currentLeases } from "../src/lock.js";
import {
  type Child,
  prepareChild,
  removeChildBundles,
  startChild,
  stopChildren,
} from "./support/children.js";
import { key, tokens } from "./support/credentials.js";
import {
  ensureRedisServer,
  REDIS_SETUP_TIMEOUT_MILLIS,
  type RedisServer,
  startRedisServer,
  untilAnswers,
} from "./support/redis-server.js";

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);
const failure = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.flip(effect));

let server: RedisServer | undefined;
let skipReason = "redis-server is not available";
const opened: Array<{ close: () => Promise<void> }> = [];

const holderProgram = "test/fixtures/lock-holder.ts";

beforeAll(async () => {
  const availability = await ensureRedisServer();
  if (!availability.available) {
    skipReason = availability.reason;
    return;
  }
  // The holder's bundle is built while Redis starts.
  [server] = await Promise.all([
    startRedisServer(availability.executablePath),
    prepareChild(holderProgram),
  ]);
}, REDIS_SETUP_TIMEOUT_MILLIS);
afterEach(async () => {
  await stopChildren();
  await Promise.all(opened.splice(0).map((o) => o.close()));
});
afterAll(async () => {
  await server?.stop();
  await removeChildBundles();
});

let prefixes = 0;
const open = async (
  prefix: string,
  options: { leaseMillis?: number; heartbeatMillis?: number; operationTimeoutMillis?: number } = {},
) => {
  if (server === undefined) throw new Error("no server");
  const auth = await redisAuth({
    url: server.url,
    prefix,
    operationTimeoutMillis: options.operationTimeoutMillis,
    lock: { leaseMillis: options.leaseMillis, heartbeatMillis: options.heartbeatMillis },
  });
  opened.push(auth);
  return auth;
};
const newPrefix = () => `lock${++prefixes}-${process.pid}:`;
const fenceOf = (line: string) => Number(line.split(" ")[1]);
const holder = (prefix: string, env: Record<string, string> = {}): Promise<Child> => {
  if (server === undefined) throw new Error("no server");
  return startChild(holderProgram, {
    REDIS_URL: server.url,
    PREFIX: prefix,
    ...env,
  });
};

describe("the Redis lease lock", () => {
  it("excludes across connections, and each lease gets a larger fencing token", async (context) => {
    if (server === undefined) return context.skip(skipReason);
    const prefix = newPrefix();
    const [a, b] = [await open(prefix), await open(prefix)];
    let inside = 0;
    let most = 0;
    const fences: number[] = [];
    const task = (lock: typeof a.lock) =>
      lock.withLock(
        "shared",
        Effect.gen(function* () {
          inside++;
          most = Math.max(most, inside);
          fences.push((yield* FiberRef.get(currentLeases)).get("shared")?.fence ?? -1);
          yield* Effect.sleep("3 millis");
          inside--;
        }),
      );
    await run(
      Effect.all(
        Array.from({ length: 30 }, (_, i) => task(i % 2 === 0 ? a.lock : b.lock)),
        { concurrency: "unbounded" },
      ),
    );
    expect(most).toBe(1);
    expect(fences).toHaveLength(30);
    // Fencing tokens are issued in the order the leases were: strictly increasing.
    expect(fences).toEqual([...fences].sort((x, y) => x - y));
    expect(new Set(fences).size).toBe(30);
    // Nothing left held: the next lease is immediate (no wait allowed).
    await run(a.lock.withLock("shared", Effect.void, { waitMillis: 0 }));
  });

  it("a held lock is a LockTimeout after the wait; a failure or an interruption releases it", async (context) => {
    if (server === undefined) return context.skip(skipReason);
    const { lock } = await open(newPrefix());
    const entered = await run(Deferred.make<void>());
    const holding = Effect.runFork(
      lock.withLock("name", Effect.zipRight(Deferred.succeed(entered, undefined), Effect.never)),
    );
    await run(Deferred.await(entered));
    const timeout = await failure(lock.withLock("name", Effect.void, { waitMillis: 100 }));
    expect(timeout).toBeInstanceOf(LockTimeout);
    expect(timeout.message).toBe("lock name was not obtained within 100 ms");
    // A waiter interrupted while waiting leaves nothing behind.
    const waiter = Effect.runFork(lock.withLock("name", Effect.void, { waitMillis: 10_000 }));
    await run(Effect.sleep("50 millis"));
    await run(Fiber.interrupt(waiter));
    // The holder interrupted: released at once.
    await run(Fiber.interrupt(holding));
    await run(lock.withLock("name", Effect.void, { waitMillis: 0 }));
    // The effect's failure passes through and releases the lock.
    const failed = await failure(lock.withLock("name", Effect.fail("boom" as const)));
    expect(failed).toBe("boom");
    await run(lock.withLock("name", Effect.void, { waitMillis: 0 }));
  });

  it("a live holder keeps its lease past leaseMillis (heartbeat); a SIGKILLed holder's lease expires and another takes the lock", async (context) => {
    if (server === undefined) return context.skip(skipReason);
    const prefix = newPrefix();
    const { lock } = await open(prefix);
    const name = await run(tokenLockName(key));
    // A beat every 100 ms keeps a 1 s lease through a scheduling stall of 900 ms (a loaded
    // machine), and the wait below is twice the lease.
    const child = await holder(prefix, { LEASE_MILLIS: "1000", HEARTBEAT_MILLIS: "100" });
    const held = fenceOf(await child.line((l) => l.startsWith("held ")));
    // Longer than the lease: the holder's heartbeat keeps it.
    const kept = await failure(lock.withLock(name, Effect.void, { waitMillis: 2_000 }));
    expect(kept).toBeInstanceOf(LockTimeout);
    child.process.kill("SIGKILL");
    await child.exited;
    // Nobody extends the lease now: it expires and this process takes the lock.
    const fence = await run(
      lock.withLock(
        name,
        Effect.map(FiberRef.get(currentLeases), (leases) => leases.get(name)?.fence),
        { waitMillis: 10_000 },
      ),
    );
    expect(fence).toBeGreaterThan(held);
  });

  it("a holder stopped past its lease (SIGSTOP) cannot overwrite the token set of the one that took over: its write is fenced", async (context) => {
    if (server === undefined) return context.skip(skipReason);
    const prefix = newPrefix();
    const { lock, store } = await open(prefix);
    const name = await run(tokenLockName(key));
    await run(store.saveTokens(tokens(key, 1)));
    const child = await holder(prefix, { LEASE_MILLIS: "400", HEARTBEAT_MILLIS: "100" });
    const childFence = fenceOf(await child.line((l) => l.startsWith("held ")));
    child.process.kill("SIGSTOP");
    // The stopped holder's lease expires; this process takes over and refreshes (version 10).
    await run(lock.withLock(name, store.saveTokens(tokens(key, 10)), { waitMillis: 10_000 }));
    child.process.kill("SIGCONT");
    // The old holder wakes up with a token set it thinks is the newest (a larger version even).
    child.send("save 20");
    const answer = await child.line((l) => l.startsWith("saved") || l.startsWith("refused "));
    expect(answer).toBe(
      "refused this writer's lease on the token set was taken over by another holder; its token set was not written",
    );
    expect(Option.getOrThrow(await run(store.loadTokens(key))).version).toBe(10);
    // Its release does not end anyone else's lease, and a new lease gets a larger token.
    child.send("release");
    await child.line((l) => l === "released");
    const next = await run(
      lock.withLock(
        name,
        Effect.map(FiberRef.get(currentLeases), (l) => l.get(name)?.fence),
      ),
    );
    expect(next).toBeGreaterThan(childFence + 1);
  });

  it("Redis down: acquiring is a LockFailed within the operation's bound; back up, the lock works", async (context) => {
    if (server === undefined) return context.skip(skipReason);
    const auth = await open(newPrefix(), { operationTimeoutMillis: 300 });
    const { lock } = auth;
    // Connected first: on a loaded machine connecting alone can take longer than 300 ms.
    await untilAnswers(auth.connection.redis);
    await run(lock.withLock("name", Effect.void));
    await server.kill();
    try {
      // Down: a LockFailed within the operation's 300 ms, not a wait for the lock's 30 s.
      const error = await failure(lock.withLock("name", Effect.void, { waitMillis: 30_000 }));
      expect(error).toBeInstanceOf(LockFailed);
      expect(error).toMatchObject({ name: "name", operation: "acquire" });
      expect((error as LockFailed).reason).toMatch(/^Redis (is unreachable|did not answer)/);
    } finally {
      await server.start();
    }
    // Back up: once the lock's own connection (reconnecting by itself) answers PING, the same
    // lock works. On a loaded machine one acquisition may still take longer than 300 ms (a
    // LockFailed "did not answer"): that one is tried again; any other failure fails the test.
    await untilAnswers(auth.connection.redis);
    const fence = await run(
      lock
        .withLock(
          "name",
          Effect.map(FiberRef.get(currentLeases), (leases) => leases.get("name")?.fence),
          { waitMillis: 5_000 },
        )
        .pipe(
          Effect.retry({
            while: (error) => error._tag === "LockFailed" && /did not answer/.test(error.reason),
            schedule: Schedule.spaced("100 millis"),
            times: 50,
          }),
        ),
    );
    // The fence counter came back from the AOF: the lease after the restart is a later one.
    expect(fence).toBeGreaterThan(1);
  });
});
