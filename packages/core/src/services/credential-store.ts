/**
 * CredentialStore: client registrations per authorization server (SEP-2352, "Clarify
 * authorization server binding and migration") and token sets per (resource, issuer, client)
 * (MCP "Token Handling"). The store holds the tokens; the session's state only their metadata.
 *
 * Built over @effect/platform's KeyValueStore, so any backend (memory, a file system, a browser's
 * storage, a shared database) plugs in; values are Schema-encoded JSON and decoded on the way
 * out, so a corrupted or foreign entry is a typed StoreFailed, never a crash.
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#token-handling
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#token-theft
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore";
import { Context, Effect, Layer, Option, Schema } from "effect";
import { StoreFailed } from "../errors.js";
import { ClientRegistration, DpopKey, type TokenKey, TokenSet } from "../schema/credentials.js";

export interface CredentialStoreService {
  /** The client registered at `issuer` for this application (one per issuer, RFC 6749 §2.2). */
  readonly loadClient: (
    issuer: string,
  ) => Effect.Effect<Option.Option<ClientRegistration>, StoreFailed>;
  readonly saveClient: (client: ClientRegistration) => Effect.Effect<void, StoreFailed>;
  readonly deleteClient: (issuer: string) => Effect.Effect<void, StoreFailed>;
  readonly loadTokens: (key: TokenKey) => Effect.Effect<Option.Option<TokenSet>, StoreFailed>;
  readonly saveTokens: (tokens: TokenSet) => Effect.Effect<void, StoreFailed>;
  readonly deleteTokens: (key: TokenKey) => Effect.Effect<void, StoreFailed>;
  /**
   * The DPoP key pair of the token set with this key (RFC 9449 §5), kept beside it: a refresh
   * token bound to the key is useless without it. The private key is Redacted (see DpopKey).
   */
  readonly loadDpopKey: (key: TokenKey) => Effect.Effect<Option.Option<DpopKey>, StoreFailed>;
  readonly saveDpopKey: (dpopKey: DpopKey) => Effect.Effect<void, StoreFailed>;
  readonly deleteDpopKey: (key: TokenKey) => Effect.Effect<void, StoreFailed>;
  /** The session's persisted machine state (JSON, already validated by its own Schema on load). */
  readonly loadSession: (serverUrl: string) => Effect.Effect<Option.Option<string>, StoreFailed>;
  readonly saveSession: (serverUrl: string, json: string) => Effect.Effect<void, StoreFailed>;
  readonly deleteSession: (serverUrl: string) => Effect.Effect<void, StoreFailed>;
}

/**
 * The memory store: entries are the values themselves (see `CredentialStore.memory`).
 */
const makeMemoryStore = (): CredentialStoreService => {
  const entries = new Map<string, unknown>();
  const load = <A>(key: string) =>
    Effect.sync(() => (entries.has(key) ? Option.some(entries.get(key) as A) : Option.none<A>()));
  const save = (key: string, value: unknown) =>
    Effect.sync(() => {
      entries.set(key, value);
    });
  const remove = (key: string) =>
    Effect.sync(() => {
      entries.delete(key);
    });
  return {
    loadClient: (issuer) => load<ClientRegistration>(clientStoreKey(issuer)),
    saveClient: (client) => save(clientStoreKey(client.issuer), client),
    deleteClient: (issuer) => remove(clientStoreKey(issuer)),
    loadTokens: (key) => load<TokenSet>(tokenStoreKey(key)),
    saveTokens: (tokens) => save(tokenStoreKey(tokens.key), tokens),
    deleteTokens: (key) => remove(tokenStoreKey(key)),
    loadDpopKey: (key) => load<DpopKey>(dpopKeyStoreKey(key)),
    saveDpopKey: (dpopKey) => save(dpopKeyStoreKey(dpopKey.key), dpopKey),
    deleteDpopKey: (key) => remove(dpopKeyStoreKey(key)),
    loadSession: (serverUrl) => load<string>(sessionStoreKey(serverUrl)),
    saveSession: (serverUrl, json) => save(sessionStoreKey(serverUrl), json),
    deleteSession: (serverUrl) => remove(sessionStoreKey(serverUrl)),
  };
};
export class CredentialStore extends Context.Tag("@authchart/core/CredentialStore")<
  CredentialStore,
  CredentialStoreService
>() {
  /** Over any KeyValueStore. */
  static readonly layer = Layer.effect(
    CredentialStore,
    Effect.map(KeyValueStore.KeyValueStore, (kv) => fromKeyValueStore(kv)),
  );

  /**
   * In memory: for tests and short-lived processes. The entries are the values themselves — no
   * other process reads them, and they are immutable — so nothing is encoded or decoded (a
   * session without a store of its own uses one). Over a KeyValueStore's memory instead:
   * `CredentialStore.layer` with `KeyValueStore.layerMemory`.
   */
  static readonly memory = (): CredentialStoreService => makeMemoryStore();
  static readonly layerMemory = Layer.sync(CredentialStore, makeMemoryStore);
}

/** Keys are JSON arrays of their parts, so no separator inside a URL can make two keys collide. */
export const clientStoreKey = (issuer: string) => `authchart/client/${JSON.stringify([issuer])}`;
export const sessionStoreKey = (serverUrl: string) =>
  `authchart/session/${JSON.stringify([serverUrl])}`;
export const tokenStoreKey = (key: TokenKey) =>
  `authchart/tokens/${JSON.stringify([key.resource, key.issuer, key.clientId])}`;
export const dpopKeyStoreKey = (key: TokenKey) =>
  `authchart/dpop-key/${JSON.stringify([key.resource, key.issuer, key.clientId])}`;

const ClientJson = Schema.parseJson(ClientRegistration);
const TokensJson = Schema.parseJson(TokenSet);
const DpopKeyJson = Schema.parseJson(DpopKey);

export const fromKeyValueStore = (kv: KeyValueStore.KeyValueStore): CredentialStoreService => {
  const failed = (operation: string) => (error: { readonly _tag: string }) =>
    new StoreFailed({ operation, reason: error._tag });
  const load = <A, I>(schema: Schema.Schema<A, I, never>, key: string, operation: string) =>
    kv.get(key).pipe(
      Effect.mapError(failed(operation)),
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.succeed(Option.none<A>()),
          onSome: (text) =>
            Schema.decode(schema as unknown as Schema.Schema<A, string>)(text).pipe(
              Effect.map(Option.some),
              Effect.mapError(
                () => new StoreFailed({ operation, reason: "stored entry does not decode" }),
              ),
            ),
        }),
      ),
    );
  const save = <A>(
    schema: Schema.Schema<A, string, never>,
    key: string,
    value: A,
    operation: string,
  ) =>
    Schema.encode(schema)(value).pipe(
      Effect.mapError(() => new StoreFailed({ operation, reason: "entry does not encode" })),
      Effect.flatMap((text) => kv.set(key, text).pipe(Effect.mapError(failed(operation)))),
    );
  return {
    loadClient: (issuer) => load(ClientJson, clientStoreKey(issuer), "loadClient"),
    saveClient: (client) => save(ClientJson, clientStoreKey(client.issuer), client, "saveClient"),
    deleteClient: (issuer) =>
      kv.remove(clientStoreKey(issuer)).pipe(Effect.mapError(failed("deleteClient"))),
    loadTokens: (key) => load(TokensJson, tokenStoreKey(key), "loadTokens"),
    saveTokens: (tokens) => save(TokensJson, tokenStoreKey(tokens.key), tokens, "saveTokens"),
    deleteTokens: (key) =>
      kv.remove(tokenStoreKey(key)).pipe(Effect.mapError(failed("deleteTokens"))),
    loadDpopKey: (key) => load(DpopKeyJson, dpopKeyStoreKey(key), "loadDpopKey"),
    saveDpopKey: (dpopKey) =>
      save(DpopKeyJson, dpopKeyStoreKey(dpopKey.key), dpopKey, "saveDpopKey"),
    deleteDpopKey: (key) =>
      kv.remove(dpopKeyStoreKey(key)).pipe(Effect.mapError(failed("deleteDpopKey"))),
    loadSession: (serverUrl) =>
      kv.get(sessionStoreKey(serverUrl)).pipe(Effect.mapError(failed("loadSession"))),
    saveSession: (serverUrl, json) =>
      kv.set(sessionStoreKey(serverUrl), json).pipe(Effect.mapError(failed("saveSession"))),
    deleteSession: (serverUrl) =>
      kv.remove(sessionStoreKey(serverUrl)).pipe(Effect.mapError(failed("deleteSession"))),
  };
};
