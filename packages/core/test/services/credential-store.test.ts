/**
 * The memory store (CredentialStore.memory / layerMemory): entries kept per key — token sets per
 * (resource, issuer, client), clients per issuer — and nothing shared between two stores.
 */
import { describe, expect, it } from "@effect/vitest";
import { Effect, Option, Redacted } from "effect";
import type { ClientRegistration, TokenSet } from "../../src/schema/credentials.js";
import { CredentialStore } from "../../src/services/credential-store.js";

const key = { resource: "https://mcp.example/mcp", issuer: "https://as.example", clientId: "c1" };
const tokens: TokenSet = {
  key,
  accessToken: Redacted.make("access-1"),
  tokenType: "Bearer",
  scopes: ["mcp:read"],
  obtainedAt: 1,
  version: 1,
};
const client: ClientRegistration = {
  issuer: key.issuer,
  kind: "dynamic",
  clientId: "c1",
  redirectUris: ["http://127.0.0.1/callback"],
  registeredAt: 1,
};

describe("CredentialStore.memory", () => {
  it.effect("saves, loads and deletes each kind of entry by its own key", () =>
    Effect.gen(function* () {
      const store = CredentialStore.memory();
      yield* store.saveTokens(tokens);
      yield* store.saveClient(client);
      yield* store.saveSession("https://mcp.example/mcp", '{"format":1}');
      expect(Option.getOrThrow(yield* store.loadTokens(key)).version).toBe(1);
      expect(Option.isNone(yield* store.loadTokens({ ...key, clientId: "c2" }))).toBe(true);
      expect(Option.getOrThrow(yield* store.loadClient(key.issuer)).clientId).toBe("c1");
      expect(Option.isNone(yield* store.loadClient("https://other.example"))).toBe(true);
      expect(yield* store.loadSession("https://mcp.example/mcp")).toStrictEqual(
        Option.some('{"format":1}'),
      );
      yield* store.saveTokens({ ...tokens, version: 2 });
      expect(Option.getOrThrow(yield* store.loadTokens(key)).version).toBe(2);
      yield* store.deleteTokens(key);
      yield* store.deleteClient(key.issuer);
      yield* store.deleteSession("https://mcp.example/mcp");
      expect(Option.isNone(yield* store.loadTokens(key))).toBe(true);
      expect(Option.isNone(yield* store.loadClient(key.issuer))).toBe(true);
      expect(Option.isNone(yield* store.loadSession("https://mcp.example/mcp"))).toBe(true);
    }),
  );

  it.effect("two stores share nothing; layerMemory builds a fresh one each time", () =>
    Effect.gen(function* () {
      const one = CredentialStore.memory();
      yield* one.saveTokens(tokens);
      expect(Option.isNone(yield* CredentialStore.memory().loadTokens(key))).toBe(true);
      const viaLayer = yield* Effect.provide(CredentialStore, CredentialStore.layerMemory);
      expect(Option.isNone(yield* viaLayer.loadTokens(key))).toBe(true);
    }),
  );
});
