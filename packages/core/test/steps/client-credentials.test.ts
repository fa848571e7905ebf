/** The client credentials grant (RFC 6749 §4.4; SEP-1046) against the real authorization server. */

import { startScriptedServer, startTestkit, type Testkit } from "@authchart/testkit";
import { describe, expect, it } from "@effect/vitest";
import { Effect, Option, Redacted } from "effect";
import { afterAll, beforeAll } from "vitest";
import type { ClientRegistration } from "../../src/schema/credentials.js";
import { CredentialStore } from "../../src/services/credential-store.js";
import {
  checkConfidentialClient,
  clientCredentials,
  clientCredentialsParams,
} from "../../src/steps/client-credentials.js";
import { discoverAuthServer } from "../../src/steps/discover-auth-server.js";
import { asMetadata, failureOf, json, stepLayer } from "../support.js";
import { jwtPayload, resourceStatus, rsaKeyPair } from "./grant-helpers.js";

const resource = "https://mcp.example/mcp";

const confidential = (overrides: Partial<ClientRegistration> = {}): ClientRegistration => ({
  issuer: "https://as.example",
  kind: "pre-registered",
  clientId: "svc",
  clientSecret: Redacted.make("s3cret"),
  redirectUris: [],
  registeredAt: 0,
  ...overrides,
});

describe("the request (pure)", () => {
  it("RFC 6749 §4.4.2: grant_type, scope and the resource indicator (RFC 8707)", () => {
    const params = clientCredentialsParams({ resource, scopes: ["b", "a", "b"] });
    expect([...params]).toEqual([
      ["grant_type", "client_credentials"],
      ["scope", "b a"],
      ["resource", resource],
    ]);
    expect(clientCredentialsParams({ resource }).has("scope")).toBe(false);
  });

  it("RFC 6749 §4.4: a public client cannot use the grant", () => {
    const context = { issuer: "https://as.example", metadata: asMetadata("https://as.example") };
    const publicClient = confidential({ clientSecret: undefined });
    expect(checkConfidentialClient({ ...context, client: publicClient })).toMatchObject({
      _tag: "InvalidClientConfiguration",
    });
    expect(checkConfidentialClient({ ...context, client: confidential() })).toBeUndefined();
  });
});

describe("against the real authorization server", () => {
  let kit: Testkit;
  beforeAll(async () => {
    kit = await startTestkit({ authServer: { clientCredentials: true } });
  });
  afterAll(() => kit.close());

  const resourceAccepts = (token: Redacted.Redacted<string>) =>
    Effect.map(resourceStatus(kit.mcpUrl, token), (status) => status !== 401);

  const registered = (metadata: Record<string, unknown>) =>
    Effect.gen(function* () {
      const as = yield* discoverAuthServer(kit.issuer);
      const answer = yield* Effect.promise(() =>
        kit.registerClient({
          grant_types: ["client_credentials"],
          response_types: [],
          redirect_uris: [],
          ...metadata,
        }),
      );
      const client: ClientRegistration = {
        issuer: as.issuer,
        kind: "pre-registered",
        clientId: String(answer.client_id),
        clientSecret:
          typeof answer.client_secret === "string"
            ? Redacted.make(answer.client_secret)
            : undefined,
        tokenEndpointAuthMethod: String(answer.token_endpoint_auth_method),
        redirectUris: [],
        registeredAt: 0,
      };
      return { as, client };
    });

  it.live.each(["client_secret_basic", "client_secret_post"])(
    "%s: a token for the MCP server, saved for (resource, issuer, client)",
    (method) =>
      Effect.gen(function* () {
        const { as, client } = yield* registered({ token_endpoint_auth_method: method });
        kit.clearLog();
        const tokens = yield* clientCredentials({
          issuer: as.issuer,
          metadata: as.metadata,
          client,
          resource: kit.mcpUrl,
          scopes: ["mcp:read"],
        });
        expect(tokens).toMatchObject({
          key: { resource: kit.mcpUrl, issuer: kit.issuer, clientId: client.clientId },
          tokenType: "Bearer",
          scopes: ["mcp:read"],
          refreshToken: undefined,
        });
        expect(tokens.expiresAt).toBeGreaterThan(Date.now());
        expect(jwtPayload(tokens.accessToken)).toMatchObject({
          aud: kit.mcpUrl,
          client_id: client.clientId,
          scope: "mcp:read",
        });
        expect(yield* resourceAccepts(tokens.accessToken)).toBe(true);
        const stored = yield* (yield* CredentialStore).loadTokens(tokens.key);
        expect(Option.map(stored, (t) => t.version)).toEqual(Option.some(tokens.version));
        expect(kit.count("token", { grantType: "client_credentials" })).toBe(1);

        // A second run replaces the stored set with a newer version.
        const again = yield* clientCredentials({
          issuer: as.issuer,
          metadata: as.metadata,
          client,
          resource: kit.mcpUrl,
          scopes: ["mcp:read"],
        });
        expect(again.version).toBeGreaterThan(tokens.version);
      }).pipe(Effect.provide(stepLayer())),
  );

  it.live("private_key_jwt (RFC 7523 §2.2): the client assertion authenticates the client", () =>
    Effect.gen(function* () {
      const keys = yield* Effect.promise(rsaKeyPair);
      const publicJwk = yield* Effect.promise(() => crypto.subtle.exportKey("jwk", keys.publicKey));
      const { as, client } = yield* registered({
        token_endpoint_auth_method: "private_key_jwt",
        token_endpoint_auth_signing_alg: "RS256",
        jwks: { keys: [{ ...publicJwk, kid: "k1", alg: "RS256", use: "sig" }] },
      });
      const tokens = yield* clientCredentials({
        issuer: as.issuer,
        metadata: as.metadata,
        client,
        signingKey: { key: keys.privateKey, kid: "k1" },
        resource: kit.mcpUrl,
        scopes: ["mcp:read", "mcp:write"],
      });
      expect(tokens.scopes).toEqual(["mcp:read", "mcp:write"]);
      expect(yield* resourceAccepts(tokens.accessToken)).toBe(true);

      // Without the key the method is unusable: a configuration error, nothing sent.
      kit.clearLog();
      const error = yield* failureOf(
        clientCredentials({
          issuer: as.issuer,
          metadata: as.metadata,
          client,
          resource: kit.mcpUrl,
        }),
      );
      expect(error).toMatchObject({ _tag: "InvalidClientConfiguration" });
      expect(kit.count("token")).toBe(0);
    }).pipe(Effect.provide(stepLayer())),
  );

  it.live("T4: a wrong secret is invalid_client, an unknown resource invalid_target", () =>
    Effect.gen(function* () {
      const { as, client } = yield* registered({
        token_endpoint_auth_method: "client_secret_basic",
      });
      const wrongSecret = yield* failureOf(
        clientCredentials({
          issuer: as.issuer,
          metadata: as.metadata,
          client: { ...client, clientSecret: Redacted.make("not-the-secret") },
          resource: kit.mcpUrl,
        }),
      );
      expect(wrongSecret).toMatchObject({
        _tag: "TokenRejected",
        code: "invalid_client",
        grantType: "client_credentials",
      });
      expect(wrongSecret.message).not.toContain("not-the-secret");
      const wrongResource = yield* failureOf(
        clientCredentials({
          issuer: as.issuer,
          metadata: as.metadata,
          client,
          resource: `${kit.mcpUrl}/other`,
        }),
      );
      expect(wrongResource).toMatchObject({ _tag: "TokenRejected", code: "invalid_target" });
      const store = yield* CredentialStore;
      const none = yield* store.loadTokens({
        resource: `${kit.mcpUrl}/other`,
        issuer: as.issuer,
        clientId: client.clientId,
      });
      expect(Option.isNone(none)).toBe(true);
    }).pipe(Effect.provide(stepLayer())),
  );
});

describe("against a scripted token endpoint", () => {
  it.live(
    "a public client is refused before any request; a bearer-less token_type is refused",
    () =>
      Effect.gen(function* () {
        const server = yield* Effect.promise(() => startScriptedServer());
        server.route("/token", json({ access_token: "a", token_type: "mac" }));
        const context = { issuer: server.origin, metadata: asMetadata(server.origin) };
        const refused = yield* failureOf(
          clientCredentials({
            ...context,
            client: confidential({ issuer: server.origin, clientSecret: undefined }),
            resource,
          }),
        );
        expect(refused).toMatchObject({ _tag: "InvalidClientConfiguration" });
        expect(server.requests.length).toBe(0);
        const mac = yield* failureOf(
          clientCredentials({
            ...context,
            client: confidential({ issuer: server.origin }),
            resource,
          }),
        );
        expect(mac).toMatchObject({ _tag: "TokenEndpointFailed" });
        yield* Effect.promise(() => server.close());
      }).pipe(Effect.provide(stepLayer())),
  );
});
