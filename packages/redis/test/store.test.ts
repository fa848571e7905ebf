/**
 * The Redis credential store on a real redis-server: the store contract (what core reads back is
 * what it saved, per key, absent is none), key names without secrets or URLs, bad entries as
 * typed errors, versions that never go back, AOF across a kill, and Redis down as StoreFailed.
 */
import { type CredentialStoreService, StoreFailed } from "@authchart/core";
import { Effect, Option, Redacted, Schedule } from "effect";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RedisAuthService, redisAuth } from "../src/layers.js";
import {
  client,
  dpopKey,
  issuer,
  key,
  otherKey,
  secrets,
  serverUrl,
  tokens,
} from "./support/credentials.js";
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

beforeAll(async () => {
  const availability = await ensureRedisServer();
  if (!availability.available) {
    skipReason = availability.reason;
    return;
  }
  server = await startRedisServer(availability.executablePath);
}, REDIS_SETUP_TIMEOUT_MILLIS);
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
});
afterAll(async () => {
  await server?.stop();
});

let prefixes = 0;
/** A store under a prefix of its own (tests do not see each other's entries). */
const open = async (options: { prefix?: string; operationTimeoutMillis?: number } = {}) => {
  if (server === undefined) throw new Error("no server");
  const auth = await redisAuth({
    url: server.url,
    prefix: options.prefix ?? `test${++prefixes}:`,
    operationTimeoutMillis: options.operationTimeoutMillis,
  });
  opened.push(auth);
  return auth;
};
const raw = () => {
  if (server === undefined) throw new Error("no server");
  const redis = new Redis(server.url);
  opened.push({ close: () => redis.quit().then(() => undefined) });
  return redis;
};
const keysUnder = async (prefix: string) => (await raw().keys(`${prefix}*`)).sort();

describe("the Redis credential store", () => {
  it("gives back what was saved, per key; nothing for what was not", async (context) => {
    if (server === undefined) return context.skip(skipReason);
    const { store } = await open();
    expect(await run(store.loadClient(issuer))).toEqual(Option.none());
    expect(await run(store.loadTokens(key))).toEqual(Option.none());
    expect(await run(store.loadDpopKey(key))).toEqual(Option.none());
    expect(await run(store.loadSession(serverUrl))).toEqual(Option.none());

    await run(store.saveClient(client));
    await run(store.saveTokens(tokens(key, 1)));
    await run(store.saveTokens(tokens(otherKey, 7)));
    await run(store.saveDpopKey(dpopKey(key)));
    await run(store.saveSession(serverUrl, '{"format":1}'));

    const loaded = Option.getOrThrow(await run(store.loadClient(issuer)));
    expect(loaded).toEqual(client);
    expect(Redacted.value(loaded.clientSecret ?? Redacted.make(""))).toBe("CLIENT-SECRET-1");
    expect(Option.getOrThrow(await run(store.loadTokens(key)))).toEqual(tokens(key, 1));
    expect(Option.getOrThrow(await run(store.loadTokens(otherKey)))).toEqual(tokens(otherKey, 7));
    expect(Option.getOrThrow(await run(store.loadDpopKey(key)))).toEqual(dpopKey(key));
    expect(await run(store.loadDpopKey(otherKey))).toEqual(Option.none());
    expect(await run(store.loadSession(serverUrl))).toEqual(Option.some('{"format":1}'));

    await run(store.deleteTokens(key));
    await run(store.deleteDpopKey(key));
    await run(store.deleteClient(issuer));
    await run(store.deleteSession(serverUrl));
    expect(await run(store.loadTokens(key))).toEqual(Option.none());
    expect(await run(store.loadDpopKey(key))).toEqual(Option.none());
    expect(await run(store.loadClient(issuer))).toEqual(Option.none());
    expect(await run(store.loadSession(serverUrl))).toEqual(Option.none());
    expect(Option.isSome(await run(store.loadTokens(otherKey)))).toBe(true);
  });

  it("names keys by prefix, kind and a hash: no URL, issuer, client id or secret in a key name", async (context) => {
    if (server === undefined) return context.skip(skipReason);
    const { store } = await open({ prefix: "names:" });
    await run(store.saveClient(client));
    await run(store.saveTokens(tokens(key)));
    await run(store.saveDpopKey(dpopKey(key)));
    await run(store.saveSession(serverUrl, "{}"));
    const names = await keysUnder("names:");
    expect(names).toHaveLength(4);
    for (const name of names) {
      expect(name).toMatch(/^names:(client|tokens|dpop-key|session):[0-9a-f]{64}$/);
      for (const word of [...secrets, "example", "client-1", "https"])
        expect(name).not.toContain(word);
    }
    // Another prefix sees none of it.
    const other = await open({ prefix: "names-other:" });
    expect(await run(other.store.loadTokens(key))).toEqual(Option.none());
  });

  it("a foreign or corrupted entry is a StoreFailed for that entry, quoting none of it", async (context) => {
    if (server === undefined) return context.skip(skipReason);
    const { store, keys } = await open();
    const redis = raw();
    await redis.set(keys.client(issuer), '{"not":"a client","secret":"LEAKED-1"}');
    await redis.hset(keys.tokens(key), "version", "1", "value", "{truncated LEAKED-2");
    // A valid token set under another key's name.
    await run(store.saveTokens(tokens(otherKey, 3)));
    const moved = await redis.hget(keys.tokens(otherKey), "value");
    await redis.hset(
      keys.tokens({ ...key, clientId: "client-2" }),
      "version",
      "3",
      "value",
      moved ?? "",
    );
    await redis.set(keys.dpopKey(key), "[]");

    const errors = [
      await failure(store.loadClient(issuer)),
      await failure(store.loadTokens(key)),
      await failure(store.loadTokens({ ...key, clientId: "client-2" })),
      await failure(store.loadDpopKey(key)),
    ];
    expect(errors.map((e) => e._tag)).toEqual([
      "StoreFailed",
      "StoreFailed",
      "StoreFailed",
      "StoreFailed",
    ]);
    expect(errors.map((e) => e.reason)).toEqual([
      "stored client does not decode",
      "stored token set does not decode",
      "stored token set does not belong to its key",
      "stored DPoP key does not decode",
    ]);
    for (const error of errors) expect(error.message).not.toMatch(/LEAKED|REFRESH|ACCESS/);
    // The other entries are served as usual.
    expect(Option.isSome(await run(store.loadTokens(otherKey)))).toBe(true);
  });

  it("writes only a newer token set: an older or equal version is refused, a re-sent save is not", async (context) => {
    if (server === undefined) return context.skip(skipReason);
    const { store } = await open();
    await run(store.saveTokens(tokens(key, 5)));
    // The same save again (a command re-sent after a reconnection) is the same answer.
    await run(store.saveTokens(tokens(key, 5)));
    const older = await failure(store.saveTokens(tokens(key, 4)));
    expect(older).toBeInstanceOf(StoreFailed);
    expect(older.reason).toMatch(/as new or newer is stored/);
    const same = await failure(
      store.saveTokens({ ...tokens(key, 5), accessToken: Redacted.make("ACCESS-TOKEN-other") }),
    );
    expect(same.reason).toMatch(/as new or newer is stored/);
    expect(Option.getOrThrow(await run(store.loadTokens(key))).version).toBe(5);
    await run(store.saveTokens(tokens(key, 6)));
    expect(Option.getOrThrow(await run(store.loadTokens(key))).version).toBe(6);
    // A new grant after a deletion starts above the old versions in core; the store takes any.
    await run(store.deleteTokens(key));
    await run(store.saveTokens(tokens(key, 2)));
    expect(Option.getOrThrow(await run(store.loadTokens(key))).version).toBe(2);
  });

  it("keeps what it acknowledged across a kill of Redis (AOF), and serves again once it is back", async (context) => {
    if (server === undefined) return context.skip(skipReason);
    const { store, connection } = await open();
    await run(store.saveClient(client));
    await run(store.saveTokens(tokens(key, 9)));
    await server.restart();
    await untilAnswers(connection.redis);
    expect(Option.getOrThrow(await run(store.loadTokens(key)))).toEqual(tokens(key, 9));
    expect(Option.getOrThrow(await run(store.loadClient(issuer)))).toEqual(client);
    await run(store.saveTokens(tokens(key, 10)));
    expect(Option.getOrThrow(await run(store.loadTokens(key))).version).toBe(10);
  });

  it("Redis down: every operation is a StoreFailed within the operation's bound, no secret in it; back up, it serves", async (context) => {
    if (server === undefined) return context.skip(skipReason);
    const { store, connection } = await open({ operationTimeoutMillis: 500 });
    // Connected first: on a loaded machine connecting alone can take longer than 500 ms.
    await untilAnswers(connection.redis);
    await run(store.saveTokens(tokens(key, 1)));
    await server.kill();
    try {
      const operations: Array<Effect.Effect<unknown, StoreFailed>> = [
        store.loadTokens(key),
        store.saveTokens(tokens(key, 2)),
        store.deleteTokens(key),
        store.loadClient(issuer),
        store.saveClient(client),
        store.loadSession(serverUrl),
        store.saveSession(serverUrl, "{}"),
        store.loadDpopKey(key),
      ];
      // All at once: each is bounded on its own.
      const errors = await Promise.all(operations.map(failure));
      for (const error of errors) {
        expect(error).toBeInstanceOf(StoreFailed);
        expect(error.reason).toMatch(/^Redis (is unreachable \(|did not answer within)/);
        for (const secret of secrets) expect(error.message).not.toContain(secret);
      }
    } finally {
      await server.start();
    }
    // Back up: once the store's own connection answers again, it serves what it had. (A read
    // slower than 500 ms on a loaded machine is the StoreFailed above, and tried again.)
    await untilAnswers(connection.redis);
    const stored = await run(
      store.loadTokens(key).pipe(
        Effect.retry({
          while: (error) => error.reason.startsWith("Redis did not answer"),
          schedule: Schedule.spaced("100 millis"),
          times: 50,
        }),
      ),
    );
    expect(Option.getOrThrow(stored).version).toBe(1);
  });

  it("a password in the URL never reaches an error", async (context) => {
    if (server === undefined) return context.skip(skipReason);
    // Nothing listens on port 1: connection refused.
    const auth = await redisAuth({
      url: "redis://:PASSWORD-IN-URL@127.0.0.1:1",
      operationTimeoutMillis: 300,
    });
    opened.push(auth);
    // The refusal seen first (on a loaded machine 300 ms can pass before it is): the client
    // reconnects once its connection was refused.
    for (let i = 0; auth.connection.redis.status !== "reconnecting" && i < 1_000; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const error = await failure(auth.store.loadTokens(key));
    expect(error.reason).toMatch(/^Redis is unreachable \(ECONNREFUSED\)/);
    expect(error.message).not.toContain("PASSWORD");
  });
});

/** The store through core's CredentialStore service type, for the compiler. */
export const asCoreStore = (auth: RedisAuthService): CredentialStoreService => auth.store;
