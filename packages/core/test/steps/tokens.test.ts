/** Token exchange and refresh (SPEC T1-T10) against the real authorization server and scripted ones. */

import {
  type ScriptedServer,
  startScriptedServer,
  startTestkit,
  type Testkit,
} from "@authchart/testkit";
import { describe, expect, it } from "@effect/vitest";
import { Effect, Option, Redacted } from "effect";
import fc from "fast-check";
import { afterAll, beforeAll } from "vitest";
import type { ClientRegistration, TokenSet } from "../../src/schema/credentials.js";
import { CredentialStore } from "../../src/services/credential-store.js";
import { authorize } from "../../src/steps/authorize.js";
import { chooseClientAuthMethod, formUrlEncode } from "../../src/steps/client-auth.js";
import { discoverAuthServer } from "../../src/steps/discover-auth-server.js";
import { register } from "../../src/steps/register.js";
import { exchangeCode, refresh } from "../../src/steps/tokens.js";
import { asMetadata, failureOf, json, redirectUri, settings, stepLayer } from "../support.js";

describe("against the real authorization server", () => {
  let kit: Testkit;
  beforeAll(async () => {
    kit = await startTestkit({ authServer: { accessTokenTtlSeconds: 120 } });
  });
  afterAll(() => kit.close());

  const obtain = (scopes: readonly string[]) =>
    Effect.gen(function* () {
      const as = yield* discoverAuthServer(kit.issuer);
      const { client } = yield* register({
        issuer: as.issuer,
        metadata: as.metadata,
        settings,
        scopes,
      });
      const grant = yield* authorize({
        issuer: as.issuer,
        metadata: as.metadata,
        client,
        redirectUri,
        resource: kit.mcpUrl,
        scopes,
      });
      const tokens = yield* exchangeCode({
        issuer: as.issuer,
        metadata: as.metadata,
        client,
        grant,
      });
      return { as, client, tokens };
    });

  it.live("T1/T3: the code is exchanged with resource; the token set is stored", () =>
    Effect.gen(function* () {
      const { tokens } = yield* obtain(["mcp:read", "offline_access"]);
      expect(tokens).toMatchObject({
        tokenType: "Bearer",
        key: { resource: kit.mcpUrl, issuer: kit.issuer },
      });
      // Versions are timestamps at least: monotonic across dropped tokens, clients, issuers.
      expect(tokens.version).toBeGreaterThanOrEqual(tokens.obtainedAt);
      expect(tokens.scopes).toContain("mcp:read");
      expect(tokens.refreshToken).toBeDefined();
      expect(tokens.expiresAt).toBeGreaterThan(Date.now() + 100_000);
      const stored = yield* (yield* CredentialStore).loadTokens(tokens.key);
      expect(Option.map(stored, (t) => t.version)).toEqual(Option.some(tokens.version));
      // The resource server accepts it: audience-bound to the MCP server (RFC 8707).
      const tokenRequest = kit.requests.find((r) => r.kind === "token");
      expect(tokenRequest?.grantType).toBe("authorization_code");
    }).pipe(Effect.provide(stepLayer({ user: (u) => kit.user.authorize(u) }))),
  );

  it.live(
    "T7: refresh rotates; the store holds the new refresh token; the old one is invalid_grant",
    () =>
      Effect.gen(function* () {
        const { as, client, tokens } = yield* obtain(["mcp:read", "offline_access"]);
        const context = { issuer: as.issuer, metadata: as.metadata, client };
        const next = yield* refresh({ ...context, tokens });
        expect(next.version).toBeGreaterThan(tokens.version);
        expect(Redacted.value(next.accessToken)).not.toBe(Redacted.value(tokens.accessToken));
        expect(Redacted.value(next.refreshToken ?? Redacted.make(""))).not.toBe(
          Redacted.value(tokens.refreshToken ?? Redacted.make("")),
        );
        const stored = Option.getOrThrow(yield* (yield* CredentialStore).loadTokens(tokens.key));
        expect(Redacted.value(stored.refreshToken ?? Redacted.make(""))).toBe(
          Redacted.value(next.refreshToken ?? Redacted.make("")),
        );
        const reused = yield* failureOf(refresh({ ...context, tokens }));
        expect(reused).toMatchObject({
          _tag: "TokenRejected",
          code: "invalid_grant",
          grantType: "refresh_token",
        });
      }).pipe(Effect.provide(stepLayer({ user: (u) => kit.user.authorize(u) }))),
  );

  it.live("T4: a code used twice -> TokenRejected(invalid_grant)", () =>
    Effect.gen(function* () {
      const as = yield* discoverAuthServer(kit.issuer);
      const { client } = yield* register({
        issuer: as.issuer,
        metadata: as.metadata,
        settings,
        scopes: ["mcp:read"],
      });
      const grant = yield* authorize({
        issuer: as.issuer,
        metadata: as.metadata,
        client,
        redirectUri,
        resource: kit.mcpUrl,
        scopes: ["mcp:read"],
      });
      yield* exchangeCode({ issuer: as.issuer, metadata: as.metadata, client, grant });
      const error = yield* failureOf(
        exchangeCode({ issuer: as.issuer, metadata: as.metadata, client, grant }),
      );
      expect(error).toMatchObject({
        _tag: "TokenRejected",
        code: "invalid_grant",
        grantType: "authorization_code",
      });
    }).pipe(Effect.provide(stepLayer({ user: (u) => kit.user.authorize(u) }))),
  );
});

describe("against scripted token endpoints", () => {
  let server: ScriptedServer;
  let last:
    | { headers: Record<string, string | string[] | undefined>; body: URLSearchParams }
    | undefined;
  beforeAll(async () => {
    server = await startScriptedServer();
  });
  afterAll(() => server.close());

  const client = (overrides: Partial<ClientRegistration> = {}): ClientRegistration => ({
    issuer: server.origin,
    kind: "dynamic",
    clientId: "client:1",
    redirectUris: [redirectUri],
    registeredAt: 0,
    ...overrides,
  });
  const held = (): TokenSet => ({
    key: { resource: "https://mcp.example/mcp", issuer: server.origin, clientId: "client:1" },
    accessToken: Redacted.make("old-access"),
    tokenType: "Bearer",
    refreshToken: Redacted.make("old-refresh"),
    scopes: ["a", "b"],
    obtainedAt: 0,
    version: 3,
  });
  const answer = (response: ReturnType<typeof json>) =>
    server.route("/token", (req) => {
      last = { headers: req.headers, body: new URLSearchParams(req.body) };
      return response;
    });
  const refreshWith = (c: ClientRegistration, scopes?: readonly string[]) =>
    refresh({
      issuer: server.origin,
      metadata: asMetadata(server.origin),
      client: c,
      tokens: held(),
      scopes,
    });

  it.live(
    "T7: a response without refresh_token keeps the old one; resource is sent; version increases",
    () =>
      Effect.gen(function* () {
        answer(json({ access_token: "new-access", token_type: "bearer", expires_in: "60" }));
        const next = yield* refreshWith(client());
        expect(Redacted.value(next.refreshToken ?? Redacted.make(""))).toBe("old-refresh");
        expect(next).toMatchObject({ scopes: ["a", "b"], tokenType: "Bearer" });
        expect(next.version).toBeGreaterThan(3);
        expect(last?.body.get("resource")).toBe("https://mcp.example/mcp");
        expect(last?.body.get("client_id")).toBe("client:1");
        expect(last?.body.has("scope")).toBe(false);
      }).pipe(Effect.provide(stepLayer())),
  );

  it.live(
    "T2: client_secret_basic form-encodes id and secret before Base64; one method per request",
    () =>
      Effect.gen(function* () {
        answer(json({ access_token: "x", token_type: "Bearer" }));
        yield* refreshWith(
          client({
            clientSecret: Redacted.make("s p:c"),
            tokenEndpointAuthMethod: "client_secret_basic",
          }),
        );
        const basic = String(last?.headers.authorization ?? "");
        expect(Buffer.from(basic.replace(/^Basic /, ""), "base64").toString()).toBe(
          "client%3A1:s+p%3Ac",
        );
        expect(last?.body.has("client_secret")).toBe(false);
      }).pipe(Effect.provide(stepLayer())),
  );

  it.live(
    "T2: client_secret_basic leaves alphanumerics and *-._ as issued (WHATWG form-urlencoding)",
    () =>
      Effect.gen(function* () {
        answer(json({ access_token: "x", token_type: "Bearer" }));
        yield* refreshWith(
          client({
            clientId: "pre-registered_client.v2*",
            clientSecret: Redacted.make("pre-registered-secret~!é"),
            tokenEndpointAuthMethod: "client_secret_basic",
          }),
        );
        const basic = String(last?.headers.authorization ?? "");
        // The suite's auth/pre-registration compares the Basic user without decoding it.
        expect(Buffer.from(basic.replace(/^Basic /, ""), "base64").toString()).toBe(
          "pre-registered_client.v2*:pre-registered-secret%7E%21%C3%A9",
        );
      }).pipe(Effect.provide(stepLayer())),
  );

  it.live("T2: client_secret_post puts the credentials in the body only", () =>
    Effect.gen(function* () {
      answer(json({ access_token: "x", token_type: "Bearer" }));
      yield* refreshWith(
        client({
          clientSecret: Redacted.make("pw"),
          tokenEndpointAuthMethod: "client_secret_post",
        }),
      );
      expect(last?.body.get("client_secret")).toBe("pw");
      expect(last?.headers.authorization).toBeUndefined();
    }).pipe(Effect.provide(stepLayer())),
  );

  it.live("T7: narrowing the scope on refresh sends it", () =>
    Effect.gen(function* () {
      answer(json({ access_token: "x", token_type: "Bearer", scope: "a" }));
      const next = yield* refreshWith(client(), ["a"]);
      expect(last?.body.get("scope")).toBe("a");
      expect(next.scopes).toEqual(["a"]);
    }).pipe(Effect.provide(stepLayer())),
  );

  it.live("T4: invalid_target, invalid_client, invalid_scope are typed with their code", () =>
    Effect.gen(function* () {
      for (const code of [
        "invalid_target",
        "invalid_client",
        "invalid_scope",
        "unauthorized_client",
      ]) {
        answer(
          json({ error: code, error_description: "no" }, code === "invalid_client" ? 401 : 400),
        );
        expect(yield* failureOf(refreshWith(client()))).toMatchObject({
          _tag: "TokenRejected",
          code,
        });
      }
    }).pipe(Effect.provide(stepLayer())),
  );

  it.live("T3: bad token responses are typed and never echo a token", () =>
    Effect.gen(function* () {
      answer(json({ access_token: "LEAKED-TOKEN", token_type: "mac" }));
      const mac = yield* failureOf(refreshWith(client()));
      expect(mac).toMatchObject({ _tag: "TokenEndpointFailed" });
      answer(json({ access_token: "LEAKED-TOKEN", expires_in: -5 }));
      const invalid = yield* failureOf(refreshWith(client()));
      expect(invalid).toMatchObject({ _tag: "InvalidDocument", document: "token response" });
      expect(invalid.message).not.toContain("LEAKED-TOKEN");
      answer({ status: 500, headers: { "content-type": "text/html" }, body: "oops" });
      expect(yield* failureOf(refreshWith(client()))).toMatchObject({
        _tag: "TokenEndpointFailed",
        status: 500,
      });
    }).pipe(Effect.provide(stepLayer())),
  );

  it.live("no refresh token held -> TokenRejected(invalid_grant) without a request", () =>
    Effect.gen(function* () {
      const before = server.requests.length;
      const { refreshToken: _, ...noRefresh } = held();
      const error = yield* failureOf(
        refresh({
          issuer: server.origin,
          metadata: asMetadata(server.origin),
          client: client(),
          tokens: noRefresh,
        }),
      );
      expect(error).toMatchObject({ _tag: "TokenRejected", code: "invalid_grant" });
      expect(server.requests.length).toBe(before);
    }).pipe(Effect.provide(stepLayer())),
  );
});

describe("chooseClientAuthMethod (SPEC T2)", () => {
  const base: ClientRegistration = {
    issuer: "https://as",
    kind: "pre-registered",
    clientId: "c",
    redirectUris: [],
    registeredAt: 0,
  };
  const md = (methods?: string[]) => ({
    ...asMetadata("https://as"),
    ...(methods ? { token_endpoint_auth_methods_supported: methods } : {}),
  });
  it.each([
    [
      "registered method wins",
      { ...base, tokenEndpointAuthMethod: "client_secret_post" },
      md(["client_secret_basic"]),
      "client_secret_post",
    ],
    ["public client -> none", base, md(), "none"],
    [
      "secret, default support -> basic (RFC 8414 §2)",
      { ...base, clientSecret: Redacted.make("s") },
      md(),
      "client_secret_basic",
    ],
    [
      "secret, only post supported -> post",
      { ...base, clientSecret: Redacted.make("s") },
      md(["client_secret_post"]),
      "client_secret_post",
    ],
    [
      "unknown registered method",
      { ...base, tokenEndpointAuthMethod: "tls_client_auth" },
      md(),
      { unsupported: "tls_client_auth" },
    ],
  ] as const)("%s", (_n, client, metadata, expected) => {
    expect(chooseClientAuthMethod(client, metadata, undefined)).toEqual(expected);
  });
});

describe("formUrlEncode (RFC 6749 §2.3.1, Appendix B)", () => {
  it("keeps alphanumerics and *-._, turns a space into +, escapes the rest", () => {
    expect(formUrlEncode("a b+c&d=é*-._~:")).toBe("a+b%2Bc%26d%3D%C3%A9*-._%7E%3A");
  });

  it("decodes back to the value with any form decoder", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (value) => {
        expect(new URLSearchParams(`v=${formUrlEncode(value)}`).get("v")).toBe(value);
      }),
    );
  });
});
