/**
 * core's CredentialStore on Redis: what replicas of one application share — token sets, DPoP
 * keys, client registrations, sessions' persisted state — under the keys of keys.ts.
 *
 * Values are encoded with core's Schemas and decoded on the way out (ClientRegistration,
 * TokenSet, DpopKey); an entry that does not decode, or that belongs to another key, is a
 * StoreFailed for that entry alone, quoting none of it.
 *
 * Token sets carry a `version` that only grows (core: a millisecond timestamp above the version
 * replaced). A save is one script (scripts.ts `saveTokens`): it writes only a newer version, and
 * under a lease of the lock of this package (lock.ts) only while no later lease of that lock has
 * been issued (its fencing token) — so a replica that outlived its lease never overwrites the
 * token set of the replica that took over. A refused save is a StoreFailed that says which rule
 * refused it; core then keeps its current token and, when it next needs one, reads the store
 * and adopts the newer set (core's session: "a newer token … adopted from the store").
 *
 * Redis unreachable: every operation fails with StoreFailed after `operationTimeoutMillis`
 * (connection.ts). A session that already holds a valid token does not read the store to send
 * it, so it keeps serving.
 */
import {
  ClientRegistration,
  type CredentialStoreService,
  DpopKey,
  StoreFailed,
  type TokenKey,
  TokenSet,
  tokenLockName,
} from "@authchart/core";
import { Effect, FiberRef, Option, Schema } from "effect";
import type { RedisConnection, RedisUnavailable, ScriptedRedis } from "./connection.js";
import type { RedisKeys } from "./keys.js";
import { currentLeases } from "./lock.js";

const ClientJson = Schema.parseJson(ClientRegistration);
const TokensJson = Schema.parseJson(TokenSet);
const DpopKeyJson = Schema.parseJson(DpopKey);

const sameTokenKey = (a: TokenKey, b: TokenKey) =>
  a.resource === b.resource && a.issuer === b.issuer && a.clientId === b.clientId;

export const makeRedisStore = (
  connection: RedisConnection,
  keys: RedisKeys,
): CredentialStoreService => {
  const redis = () => connection.redis as ScriptedRedis;
  const failed = (operation: string) => (error: RedisUnavailable) =>
    new StoreFailed({ operation, reason: error.message });
  const run = <A>(operation: string, command: (r: ScriptedRedis) => Promise<A>) =>
    connection.run(() => command(redis())).pipe(Effect.mapError(failed(operation)));

  /** Decodes a stored text with its Schema and checks it belongs to its key. */
  const decode = <A>(
    schema: Schema.Schema<A, string>,
    text: string | null,
    belongs: (value: A) => boolean,
    operation: string,
    what: string,
  ): Effect.Effect<Option.Option<A>, StoreFailed> =>
    text === null
      ? Effect.succeed(Option.none())
      : Schema.decode(schema)(text).pipe(
          Effect.mapError(
            () => new StoreFailed({ operation, reason: `stored ${what} does not decode` }),
          ),
          Effect.filterOrFail(
            belongs,
            () =>
              new StoreFailed({ operation, reason: `stored ${what} does not belong to its key` }),
          ),
          Effect.map(Option.some),
        );
  const encode = <A>(schema: Schema.Schema<A, string>, value: A, operation: string) =>
    Schema.encode(schema)(value).pipe(
      Effect.mapError(() => new StoreFailed({ operation, reason: "entry does not encode" })),
    );

  /** The fencing token of the lease this fiber holds on the token set's lock, if any. */
  const fenceFor = (key: TokenKey) =>
    Effect.gen(function* () {
      const leases = yield* FiberRef.get(currentLeases);
      if (leases.size === 0) return { fenceKey: undefined, fence: "" };
      const name = yield* tokenLockName(key);
      const lease = leases.get(name);
      const fenceKey = keys.fence(name);
      return lease !== undefined && lease.fenceKey === fenceKey
        ? { fenceKey, fence: String(lease.fence) }
        : { fenceKey, fence: "" };
    });
  const fenceKeyOf = (key: TokenKey, found: { readonly fenceKey: string | undefined }) =>
    found.fenceKey === undefined
      ? Effect.map(tokenLockName(key), (name) => keys.fence(name))
      : Effect.succeed(found.fenceKey);

  return {
    loadClient: (issuer) =>
      Effect.flatMap(
        run("loadClient", (r) => r.get(keys.client(issuer))),
        (text) => decode(ClientJson, text, (c) => c.issuer === issuer, "loadClient", "client"),
      ),
    saveClient: (client) =>
      Effect.flatMap(encode(ClientJson, client, "saveClient"), (text) =>
        run("saveClient", (r) => r.set(keys.client(client.issuer), text)),
      ).pipe(Effect.asVoid),
    deleteClient: (issuer) =>
      run("deleteClient", (r) => r.del(keys.client(issuer))).pipe(Effect.asVoid),

    loadTokens: (key) =>
      Effect.flatMap(
        run("loadTokens", (r) => r.hget(keys.tokens(key), "value")),
        (text) =>
          decode(TokensJson, text, (t) => sameTokenKey(t.key, key), "loadTokens", "token set"),
      ),
    saveTokens: (tokens) =>
      Effect.gen(function* () {
        const operation = "saveTokens";
        const text = yield* encode(TokensJson, tokens, operation);
        const found = yield* fenceFor(tokens.key);
        const fenceKey = yield* fenceKeyOf(tokens.key, found);
        const answer = yield* run(operation, (r) =>
          r.authchartSaveTokens(
            keys.tokens(tokens.key),
            fenceKey,
            String(tokens.version),
            text,
            found.fence,
          ),
        );
        if (answer === "saved") return;
        return yield* new StoreFailed({
          operation,
          reason:
            answer === "fenced"
              ? "this writer's lease on the token set was taken over by another holder; its token set was not written"
              : "a token set as new or newer is stored; the older one was not written",
        });
      }),
    deleteTokens: (key) =>
      Effect.gen(function* () {
        const found = yield* fenceFor(key);
        const fenceKey = yield* fenceKeyOf(key, found);
        const answer = yield* run("deleteTokens", (r) =>
          r.authchartDeleteTokens(keys.tokens(key), fenceKey, found.fence),
        );
        if (answer === "fenced")
          return yield* new StoreFailed({
            operation: "deleteTokens",
            reason:
              "this writer's lease on the token set was taken over by another holder; nothing was deleted",
          });
      }),

    loadDpopKey: (key) =>
      Effect.flatMap(
        run("loadDpopKey", (r) => r.get(keys.dpopKey(key))),
        (text) =>
          decode(DpopKeyJson, text, (k) => sameTokenKey(k.key, key), "loadDpopKey", "DPoP key"),
      ),
    saveDpopKey: (dpopKey) =>
      Effect.flatMap(encode(DpopKeyJson, dpopKey, "saveDpopKey"), (text) =>
        run("saveDpopKey", (r) => r.set(keys.dpopKey(dpopKey.key), text)),
      ).pipe(Effect.asVoid),
    deleteDpopKey: (key) =>
      run("deleteDpopKey", (r) => r.del(keys.dpopKey(key))).pipe(Effect.asVoid),

    // The session's JSON is validated by core's PersistedSession on load.
    loadSession: (serverUrl) =>
      Effect.map(
        run("loadSession", (r) => r.get(keys.session(serverUrl))),
        Option.fromNullable,
      ),
    saveSession: (serverUrl, json) =>
      run("saveSession", (r) => r.set(keys.session(serverUrl), json)).pipe(Effect.asVoid),
    deleteSession: (serverUrl) =>
      run("deleteSession", (r) => r.del(keys.session(serverUrl))).pipe(Effect.asVoid),
  };
};
