/**
 * Discovery over real HTTP (SPEC D1-D15): against testkit's real MCP server and authorization
 * server in their deployment shapes, and against scripted servers for each bad answer.
 */

import { startScriptedServer, startTestkit, type Testkit } from "@authchart/testkit";
import { describe, expect, it } from "@effect/vitest";
import { Effect } from "effect";
import { afterAll, beforeAll } from "vitest";
import {
  discoverAuthServer,
  discoverLegacyAuthServer,
  sameOriginIssuer,
} from "../../src/steps/discover-auth-server.js";
import { discoverResource, resourceMatches } from "../../src/steps/discover-resource.js";
import { asMetadata, failureOf, json, stepLayer } from "../support.js";

const layer = stepLayer({ policy: { timeoutMillis: 2_000 } });

describe("discoverResource against the real MCP server", () => {
  let kit: Testkit;
  let rootOnly: Testkit;
  beforeAll(async () => {
    kit = await startTestkit();
    rootOnly = await startTestkit({
      mcp: { prmLocation: "root", resourceMetadataInChallenge: false },
    });
  });
  afterAll(async () => {
    await kit.close();
    await rootOnly.close();
  });

  it.live("D2: the challenge's resource_metadata is fetched first", () =>
    Effect.gen(function* () {
      const prmUrl = `${new URL(kit.mcpUrl).origin}/.well-known/oauth-protected-resource/mcp`;
      const found = yield* discoverResource({ serverUrl: kit.mcpUrl, resourceMetadataUrl: prmUrl });
      expect(found).toMatchObject({
        resource: kit.mcpUrl,
        source: "challenge",
        authorizationServer: kit.issuer,
      });
      expect(found.attempts).toEqual([{ url: prmUrl, status: 200 }]);
    }).pipe(Effect.provide(layer)),
  );

  it.live("D3: without resource_metadata, the path-aware URL answers first", () =>
    Effect.gen(function* () {
      const found = yield* discoverResource({ serverUrl: kit.mcpUrl });
      expect(found.source).toBe("path-aware");
      expect(found.metadata.scopes_supported).toEqual(["mcp:read", "mcp:write", "mcp:admin"]);
    }).pipe(Effect.provide(layer)),
  );

  it.live("D3: metadata only at the root -> path-aware 404, then root", () =>
    Effect.gen(function* () {
      const found = yield* discoverResource({ serverUrl: rootOnly.mcpUrl });
      expect(found.source).toBe("root");
      expect(found.attempts.map((a) => a.status)).toEqual([404, 200]);
    }).pipe(Effect.provide(layer)),
  );
});

describe("discoverResource: bad answers", () => {
  it.live("D3: nothing anywhere -> ResourceMetadataNotFound naming every URL tried", () =>
    Effect.gen(function* () {
      const server = yield* Effect.promise(() => startScriptedServer());
      const error = yield* failureOf(discoverResource({ serverUrl: `${server.origin}/mcp` }));
      expect(error._tag).toBe("ResourceMetadataNotFound");
      expect(error.message).toContain("/.well-known/oauth-protected-resource/mcp (404)");
      expect(error.message).toContain("/.well-known/oauth-protected-resource (404)");
      yield* Effect.promise(() => server.close());
    }).pipe(Effect.provide(layer)),
  );

  it.live("D5: another origin's resource is always refused, also under the prefix policy", () =>
    Effect.gen(function* () {
      const server = yield* Effect.promise(() =>
        startScriptedServer({
          "/.well-known/oauth-protected-resource/mcp": json({
            resource: "https://evil.example/mcp",
            authorization_servers: ["https://as.example"],
          }),
        }),
      );
      for (const policy of ["strict", "same-origin-path-prefix"] as const) {
        const error = yield* failureOf(
          discoverResource({ serverUrl: `${server.origin}/mcp`, policy }),
        );
        expect(error).toMatchObject({
          _tag: "ResourceMismatch",
          actual: "https://evil.example/mcp",
        });
      }
      yield* Effect.promise(() => server.close());
    }).pipe(Effect.provide(layer)),
  );

  it.live(
    "D5: the origin published for /mcp is refused when strict, accepted by the opt-in policy",
    () =>
      Effect.gen(function* () {
        const server = yield* Effect.promise(() => startScriptedServer());
        server.route(
          "/.well-known/oauth-protected-resource/mcp",
          json({ resource: server.origin, authorization_servers: ["https://as.example"] }),
        );
        const strict = yield* failureOf(discoverResource({ serverUrl: `${server.origin}/mcp` }));
        expect(strict._tag).toBe("ResourceMismatch");
        const relaxed = yield* discoverResource({
          serverUrl: `${server.origin}/mcp`,
          policy: "same-origin-path-prefix",
        });
        expect(relaxed.resource).toBe(server.origin);
        yield* Effect.promise(() => server.close());
      }).pipe(Effect.provide(layer)),
  );

  it.live(
    "D6: malformed, mistyped, empty authorization_servers, 5xx -> typed errors, no fallback",
    () =>
      Effect.gen(function* () {
        const server = yield* Effect.promise(() => startScriptedServer());
        const path = "/.well-known/oauth-protected-resource/mcp";
        const serverUrl = `${server.origin}/mcp`;

        server.route(path, {
          status: 200,
          headers: { "content-type": "application/json" },
          body: "{",
        });
        expect((yield* failureOf(discoverResource({ serverUrl })))._tag).toBe("MalformedJson");

        server.route(path, json({ resource: 42, authorization_servers: "x" }));
        const invalid = yield* failureOf(discoverResource({ serverUrl }));
        expect(invalid).toMatchObject({
          _tag: "InvalidDocument",
          document: "protected-resource metadata",
        });
        expect(invalid.message).toContain("resource has an invalid value");

        // RFC 9728 §2: a boolean or nothing — a string "true" decides nothing, it is refused.
        server.route(
          path,
          json({
            resource: serverUrl,
            authorization_servers: ["https://as.example"],
            dpop_bound_access_tokens_required: "true",
          }),
        );
        const notBoolean = yield* failureOf(discoverResource({ serverUrl }));
        expect(notBoolean).toMatchObject({ _tag: "InvalidDocument" });
        // Each problem named once (the member fails both `boolean` and `undefined`).
        expect(notBoolean).toMatchObject({
          issues: ["dpop_bound_access_tokens_required has an invalid value"],
        });

        server.route(path, json({ resource: serverUrl, authorization_servers: [] }));
        expect((yield* failureOf(discoverResource({ serverUrl })))._tag).toBe(
          "NoAuthorizationServer",
        );

        server.route(path, json({ error: "boom" }, 503));
        expect(yield* failureOf(discoverResource({ serverUrl }))).toMatchObject({
          _tag: "UnexpectedStatus",
          status: 503,
        });
        // The root was never probed after a broken answer at the path-aware URL.
        expect(
          server.requests.filter((r) => r.path === "/.well-known/oauth-protected-resource"),
        ).toHaveLength(0);
        yield* Effect.promise(() => server.close());
      }).pipe(Effect.provide(layer)),
  );

  it.live("E18: an unusable resource_metadata is ignored and probing continues", () =>
    Effect.gen(function* () {
      const server = yield* Effect.promise(() => startScriptedServer());
      const serverUrl = `${server.origin}/mcp`;
      server.route(
        "/.well-known/oauth-protected-resource/mcp",
        json({ resource: serverUrl, authorization_servers: ["https://as.example"] }),
      );
      const found = yield* discoverResource({
        serverUrl,
        resourceMetadataUrl: "http://metadata.example/prm",
      });
      expect(found.source).toBe("path-aware");
      expect(found.ignoredResourceMetadata?.value).toBe("http://metadata.example/prm");
      yield* Effect.promise(() => server.close());
    }).pipe(Effect.provide(layer)),
  );

  it("InvalidResourceUri for an unusable server URL", () =>
    Effect.gen(function* () {
      const error = yield* failureOf(discoverResource({ serverUrl: "not a url" }));
      expect(error._tag).toBe("InvalidResourceUri");
    }).pipe(Effect.provide(layer), Effect.runPromise));
});

describe("resourceMatches (SPEC D5)", () => {
  it.each([
    ["https://a.example/mcp", "https://a.example/mcp", "strict", true],
    ["https://a.example/mcp/", "https://a.example/mcp", "strict", false],
    ["https://A.example/mcp", "https://a.example/mcp", "strict", false],
    ["https://a.example", "https://a.example/mcp", "strict", false],
    ["https://a.example", "https://a.example/mcp", "same-origin-path-prefix", true],
    ["https://a.example/", "https://a.example/mcp", "same-origin-path-prefix", true],
    ["https://a.example/mc", "https://a.example/mcp", "same-origin-path-prefix", false],
    ["https://a.example:8443/mcp", "https://a.example/mcp", "same-origin-path-prefix", false],
    ["http://a.example/mcp", "https://a.example/mcp", "same-origin-path-prefix", false],
  ] as const)("%s for %s (%s) -> %s", (published, requested, policy, expected) => {
    expect(resourceMatches(published, requested, requested, policy)).toBe(expected);
  });
});

describe("discoverAuthServer", () => {
  let kit: Testkit;
  let tenant: Testkit;
  beforeAll(async () => {
    kit = await startTestkit();
    tenant = await startTestkit({
      authServer: { issuerPath: "/tenant1", metadata: "oidc-appended-only" },
    });
  });
  afterAll(async () => {
    await kit.close();
    await tenant.close();
  });

  it.live("D11: an issuer without a path answers at oauth-authorization-server", () =>
    Effect.gen(function* () {
      const found = yield* discoverAuthServer(kit.issuer);
      expect(found.metadataUrl).toBe(`${kit.issuer}/.well-known/oauth-authorization-server`);
      expect(found.metadata.code_challenge_methods_supported).toContain("S256");
    }).pipe(Effect.provide(layer)),
  );

  it.live("D10: an issuer with a path that serves only the appended OIDC document", () =>
    Effect.gen(function* () {
      const found = yield* discoverAuthServer(tenant.issuer);
      expect(found.metadataUrl).toBe(`${tenant.issuer}/.well-known/openid-configuration`);
      expect(found.attempts.map((a) => a.status)).toEqual([404, 404, 200]);
      expect(found.issuer).toBe(tenant.issuer);
    }).pipe(Effect.provide(layer)),
  );

  it.live("D12: an issuer mismatch is fatal", () =>
    Effect.gen(function* () {
      const server = yield* Effect.promise(() => startScriptedServer());
      server.route(
        "/.well-known/oauth-authorization-server",
        json(asMetadata("https://other.example")),
      );
      const error = yield* failureOf(discoverAuthServer(server.origin));
      expect(error).toMatchObject({
        _tag: "IssuerMismatch",
        expected: server.origin,
        actual: "https://other.example",
      });
      yield* Effect.promise(() => server.close());
    }).pipe(Effect.provide(layer)),
  );

  it.live(
    "a server only for grants without a browser: no authorization endpoint, no PKCE — usable for them, refused for the code",
    () =>
      Effect.gen(function* () {
        const server = yield* Effect.promise(() => startScriptedServer());
        server.route(
          "/.well-known/oauth-authorization-server",
          json({ issuer: server.origin, token_endpoint: `${server.origin}/token` }),
        );
        const found = yield* discoverAuthServer(server.origin, { forAuthorizationCode: false });
        expect(found.metadata.token_endpoint).toBe(`${server.origin}/token`);
        const error = yield* failureOf(discoverAuthServer(server.origin));
        expect(error).toMatchObject({
          _tag: "InvalidDocument",
          issues: ["authorization_endpoint is missing"],
        });
        yield* Effect.promise(() => server.close());
      }).pipe(Effect.provide(layer)),
  );

  it.live("D13: no code_challenge_methods_supported, or no S256 -> PkceUnsupported", () =>
    Effect.gen(function* () {
      const server = yield* Effect.promise(() => startScriptedServer());
      const path = "/.well-known/oauth-authorization-server";
      const { code_challenge_methods_supported: _, ...withoutPkce } = asMetadata(server.origin);
      server.route(path, json(withoutPkce));
      expect(yield* failureOf(discoverAuthServer(server.origin))).toMatchObject({
        _tag: "PkceUnsupported",
        advertised: undefined,
      });
      server.route(
        path,
        json({ ...asMetadata(server.origin), code_challenge_methods_supported: ["plain"] }),
      );
      expect(yield* failureOf(discoverAuthServer(server.origin))).toMatchObject({
        _tag: "PkceUnsupported",
        advertised: ["plain"],
      });
      yield* Effect.promise(() => server.close());
    }).pipe(Effect.provide(layer)),
  );

  it.live("X1/X6: an endpoint that is not https is refused at discovery", () =>
    Effect.gen(function* () {
      const server = yield* Effect.promise(() => startScriptedServer());
      server.route(
        "/.well-known/oauth-authorization-server",
        json({ ...asMetadata(server.origin), authorization_endpoint: "javascript:alert(1)" }),
      );
      expect(yield* failureOf(discoverAuthServer(server.origin))).toMatchObject({
        _tag: "InsecureUrl",
      });
      yield* Effect.promise(() => server.close());
    }).pipe(Effect.provide(layer)),
  );

  it.live("D11: nothing at any candidate -> AuthServerMetadataNotFound", () =>
    Effect.gen(function* () {
      const server = yield* Effect.promise(() => startScriptedServer());
      const error = yield* failureOf(discoverAuthServer(server.origin));
      expect(error._tag).toBe("AuthServerMetadataNotFound");
      expect(server.requests.map((r) => r.path)).toEqual([
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
      ]);
      yield* Effect.promise(() => server.close());
    }).pipe(Effect.provide(layer)),
  );

  it.live(
    "D15: a 2025-03-26 server's root metadata may name an issuer under a path of its origin",
    () =>
      Effect.gen(function* () {
        // MCP 2025-03-26 §2.3.2: the metadata is at the origin's RFC 8414 URL whatever the issuer
        // (the conformance suite 0.1.16 auth/2025-03-26-oauth-metadata-backcompat serves this).
        const server = yield* Effect.promise(() => startScriptedServer());
        const issuer = `${server.origin}/oauth`;
        server.route("/.well-known/oauth-authorization-server", json(asMetadata(issuer)));
        const found = yield* discoverLegacyAuthServer(`${server.origin}/mcp`);
        expect(found).toMatchObject({
          legacy: true,
          issuer,
          metadataUrl: `${server.origin}/.well-known/oauth-authorization-server`,
        });
        expect(found.metadata.token_endpoint).toBe(`${issuer}/token`);
        yield* Effect.promise(() => server.close());
      }).pipe(Effect.provide(layer)),
  );

  it.live("D12 in the 2025-03-26 fallback: an issuer on another origin is still refused", () =>
    Effect.gen(function* () {
      const server = yield* Effect.promise(() => startScriptedServer());
      server.route(
        "/.well-known/oauth-authorization-server",
        json(asMetadata("https://attacker.example/oauth")),
      );
      const error = yield* failureOf(discoverLegacyAuthServer(`${server.origin}/mcp`));
      expect(error).toMatchObject({
        _tag: "IssuerMismatch",
        expected: server.origin,
        actual: "https://attacker.example/oauth",
      });
      yield* Effect.promise(() => server.close());
    }).pipe(Effect.provide(layer)),
  );

  it.live("D12 outside the fallback: a path issuer at the origin's URL is refused", () =>
    Effect.gen(function* () {
      // The same document that the 2025-03-26 fallback accepts is an IssuerMismatch when the
      // issuer was advertised (protected-resource metadata named the origin).
      const server = yield* Effect.promise(() => startScriptedServer());
      server.route(
        "/.well-known/oauth-authorization-server",
        json(asMetadata(`${server.origin}/oauth`)),
      );
      const error = yield* failureOf(discoverAuthServer(server.origin));
      expect(error).toMatchObject({ _tag: "IssuerMismatch", actual: `${server.origin}/oauth` });
      yield* Effect.promise(() => server.close());
    }).pipe(Effect.provide(layer)),
  );

  it.live("D15: a 2025-03-26 server without any metadata gets the default endpoints", () =>
    Effect.gen(function* () {
      const server = yield* Effect.promise(() => startScriptedServer());
      const found = yield* discoverLegacyAuthServer(`${server.origin}/mcp`);
      expect(found).toMatchObject({ legacy: true, issuer: server.origin, metadataUrl: "defaults" });
      expect(found.metadata.token_endpoint).toBe(`${server.origin}/token`);
      yield* Effect.promise(() => server.close());
    }).pipe(Effect.provide(layer)),
  );
});

describe("sameOriginIssuer (the 2025-03-26 fallback's issuer rule)", () => {
  const accepts = sameOriginIssuer("http://localhost:8080");
  it.each([
    ["the origin itself", "http://localhost:8080", true],
    ["a path on the origin", "http://localhost:8080/oauth", true],
    ["another port", "http://localhost:8081/oauth", false],
    ["another scheme", "https://localhost:8080/oauth", false],
    ["another host", "http://127.0.0.1:8080/oauth", false],
    ["a query", "http://localhost:8080/oauth?tenant=1", false],
    ["an empty query", "http://localhost:8080/oauth?", false],
    ["a fragment", "http://localhost:8080/oauth#x", false],
    ["userinfo", "http://user@localhost:8080/oauth", false],
    ["not a URL", "oauth", false],
  ] as const)("%s", (_name, claimed, expected) => {
    expect(accepts(claimed)).toBe(expected);
  });
});
