/**
 * CredentialStore: client registrations per authorization server and token sets per
 * (resource, issuer, client) — SPEC R11, T6, T8; DESIGN "the store holds the tokens".
 *
 * Built over @effect/platform's KeyValueStore, so any backend (memory, a file system, a browser's
 * storage, a shared database) plugs in; values are Schema-encoded JSON and decoded on the way
 * out, so a corrupted or foreign entry is a typed StoreFailed, never a crash.
 */
import { KeyValueStore } from "@effect/platform";
import { Context, Effect, Layer, Option, Schema } from "effect";
import { StoreFailed } from "../errors.js";
import { ClientRegistration, type TokenKey, TokenSet } from "../schema/credentials.js";

export interface CredentialStoreService {
  /** The client registered at `issuer` for this application (one per issuer, SPEC R11). */
  readonly loadClient: (
    issuer: string,
  ) => Effect.Effect<Option.Option<ClientRegistration>, StoreFailed>;
  readonly saveClient: (client: ClientRegistration) => Effect.Effect<void, StoreFailed>;
  readonly deleteClient: (issuer: string) => Effect.Effect<void, StoreFailed>;
  readonly loadTokens: (key: TokenKey) => Effect.Effect<Option.Option<TokenSet>, StoreFailed>;
  readonly saveTokens: (tokens: TokenSet) => Effect.Effect<void, StoreFailed>;
  readonly deleteTokens: (key: TokenKey) => Effect.Effect<void, StoreFailed>;
  /** The session's persisted machine state (JSON, already validated by its own Schema on load). */
  readonly loadSession: (serverUrl: string) => Effect.Effect<Option.Option<string>, StoreFailed>;
  readonly saveSession: (serverUrl: string, json: string) => Effect.Effect<void, StoreFailed>;
  readonly deleteSession: (serverUrl: string) => Effect.Effect<void, StoreFailed>;
}

export class CredentialStore extends Context.Tag("@authchart/core/CredentialStore")<
  CredentialStore,
  CredentialStoreService
>() {
  /** Over any KeyValueStore. */
  static readonly layer = Layer.effect(
    CredentialStore,
    Effect.map(KeyValueStore.KeyValueStore, (kv) => fromKeyValueStore(kv)),
  );

  /** In memory: for tests and short-lived processes. */
  static readonly layerMemory = CredentialStore.layer.pipe(
    Layer.provide(KeyValueStore.layerMemory),
  );
}

/** Keys are JSON arrays of their parts, so no separator inside a URL can make two keys collide. */
export const clientStoreKey = (issuer: string) => `authchart/client/${JSON.stringify([issuer])}`;
export const sessionStoreKey = (serverUrl: string) =>
  `authchart/session/${JSON.stringify([serverUrl])}`;
export const tokenStoreKey = (key: TokenKey) =>
  `authchart/tokens/${JSON.stringify([key.resource, key.issuer, key.clientId])}`;

const ClientJson = Schema.parseJson(ClientRegistration);
const TokensJson = Schema.parseJson(TokenSet);

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
    loadSession: (serverUrl) =>
      kv.get(sessionStoreKey(serverUrl)).pipe(Effect.mapError(failed("loadSession"))),
    saveSession: (serverUrl, json) =>
      kv.set(sessionStoreKey(serverUrl), json).pipe(Effect.mapError(failed("saveSession"))),
    deleteSession: (serverUrl) =>
      kv.remove(sessionStoreKey(serverUrl)).pipe(Effect.mapError(failed("deleteSession"))),
  };
};
