/** The authorization request and response (SPEC A1-A13). */

import { startTestkit, type Testkit } from "@authchart/testkit";
import { describe, expect, it } from "@effect/vitest";
import { Effect, Redacted } from "effect";
import { afterAll, beforeAll } from "vitest";
import type { ClientRegistration } from "../../src/schema/credentials.js";
import { authorize, buildAuthorizationUrl, validateCallback } from "../../src/steps/authorize.js";
import { discoverAuthServer } from "../../src/steps/discover-auth-server.js";
import { register } from "../../src/steps/register.js";
import { asMetadata, failureOf, redirectUri, settings, stepLayer } from "../support.js";

describe("authorize against the real authorization server", () => {
  let kit: Testkit;
  beforeAll(async () => {
    kit = await startTestkit();
  });
  afterAll(() => kit.close());

  const flow = (scopes: readonly string[]) =>
    Effect.gen(function* () {
      const as = yield* discoverAuthServer(kit.issuer);
      const { client } = yield* register({
        issuer: as.issuer,
        metadata: as.metadata,
        settings,
        scopes,
      });
      return yield* authorize({
        issuer: as.issuer,
        metadata: as.metadata,
        client,
        redirectUri,
        resource: kit.mcpUrl,
        scopes,
      });
    });

  it.live("A1-A5: PKCE S256, state, resource, scope; the callback's code is redacted", () =>
    Effect.gen(function* () {
      let seen = "";
      const grant = yield* flow(["mcp:read"]).pipe(
        Effect.provide(
          stepLayer({
            user: (url) => {
              seen = url;
              return kit.user.authorize(url);
            },
          }),
        ),
      );
      const request = new URL(seen).searchParams;
      expect(request.get("code_challenge_method")).toBe("S256");
      expect(request.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(request.get("resource")).toBe(kit.mcpUrl);
      expect(request.get("scope")).toBe("mcp:read");
      expect(request.get("redirect_uri")).toBe(redirectUri);
      expect(request.get("state")?.length).toBeGreaterThanOrEqual(32);
      expect(Redacted.isRedacted(grant.code)).toBe(true);
      expect(String(grant.code)).not.toContain(Redacted.value(grant.code));
      expect(Redacted.value(grant.codeVerifier)).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    }),
  );

  it.live("a user who denies -> AuthorizationDenied(access_denied)", () =>
    Effect.gen(function* () {
      kit.user.policy = { grant: "deny" };
      const error = yield* failureOf(
        flow(["mcp:read"]).pipe(Effect.provide(stepLayer({ user: (u) => kit.user.authorize(u) }))),
      );
      kit.user.policy = { grant: "all" };
      expect(error).toMatchObject({ _tag: "AuthorizationDenied", error: "access_denied" });
    }),
  );

  it.live("A2: every request gets a fresh verifier and state", () =>
    Effect.gen(function* () {
      const urls: string[] = [];
      const layer = stepLayer({
        user: (u) => {
          urls.push(u);
          return kit.user.authorize(u);
        },
      });
      yield* flow(["mcp:read"]).pipe(Effect.provide(layer));
      yield* flow(["mcp:read"]).pipe(Effect.provide(layer));
      const [a, b] = urls.map((u) => new URL(u).searchParams);
      expect(a?.get("state")).not.toBe(b?.get("state"));
      expect(a?.get("code_challenge")).not.toBe(b?.get("code_challenge"));
    }),
  );
});

describe("buildAuthorizationUrl (SPEC A4)", () => {
  const client: ClientRegistration = {
    issuer: "https://as.example",
    kind: "dynamic",
    clientId: "c1",
    redirectUris: [redirectUri],
    registeredAt: 0,
  };
  const input = (endpoint: string, scopes: readonly string[]) => ({
    issuer: "https://as.example",
    metadata: { ...asMetadata("https://as.example"), authorization_endpoint: endpoint },
    client,
    redirectUri,
    resource: "https://mcp.example/mcp",
    scopes,
  });

  it("keeps the endpoint's own query and never duplicates a parameter", () => {
    const url = new URL(
      buildAuthorizationUrl(
        input("https://as.example/authorize?tenant=t1&scope=stale", ["a", "b"]),
        { codeChallenge: "cc", state: "st" },
      ),
    );
    expect(url.searchParams.get("tenant")).toBe("t1");
    expect(url.searchParams.getAll("scope")).toEqual(["a b"]);
    expect(url.searchParams.getAll("client_id")).toEqual(["c1"]);
  });

  it("S1 step 3: no scopes, no scope parameter", () => {
    const url = new URL(
      buildAuthorizationUrl(input("https://as.example/authorize?scope=x", []), {
        codeChallenge: "cc",
        state: "st",
      }),
    );
    expect(url.searchParams.has("scope")).toBe(false);
  });
});

describe("validateCallback (SPEC A7, A11-A13)", () => {
  const issuer = "https://as.example";
  const client: ClientRegistration = {
    issuer,
    kind: "dynamic",
    clientId: "c1",
    redirectUris: [redirectUri],
    registeredAt: 0,
  };
  const base = { issuer, client, redirectUri };
  const advertised = {
    ...base,
    metadata: { ...asMetadata(issuer), authorization_response_iss_parameter_supported: true },
  };
  const silent = { ...base, metadata: asMetadata(issuer) };
  const cb = (query: string) => `${redirectUri}?${query}`;
  const run = (input: typeof silent, query: string, state = "s1") =>
    Effect.runPromise(Effect.either(validateCallback(input, state, cb(query))));

  it("accepts a good response and returns the code", async () => {
    const result = await run(advertised, `code=abc&state=s1&iss=${encodeURIComponent(issuer)}`);
    expect(result).toMatchObject({ _tag: "Right", right: "abc" });
  });

  it.each([
    ["state missing", silent, "code=abc", { _tag: "StateMismatch", received: "missing" }],
    [
      "state different",
      silent,
      "code=abc&state=zz",
      { _tag: "StateMismatch", received: "different" },
    ],
    [
      "iss missing although advertised",
      advertised,
      "code=abc&state=s1",
      { _tag: "IssMismatch", actual: undefined },
    ],
    [
      "iss of another server, not advertised (Δ A13)",
      silent,
      "code=abc&state=s1&iss=https%3A%2F%2Fevil.example",
      { _tag: "IssMismatch", actual: "https://evil.example" },
    ],
    [
      "iss differing only by a trailing slash (Δ no normalization)",
      silent,
      "code=abc&state=s1&iss=https%3A%2F%2Fas.example%2F",
      { _tag: "IssMismatch" },
    ],
    [
      "an error from a mixed-up server is not acted on (Δ A13)",
      advertised,
      "error=invalid_scope&state=s1&iss=https%3A%2F%2Fevil.example",
      { _tag: "IssMismatch" },
    ],
    [
      "invalid_scope",
      advertised,
      `error=invalid_scope&error_description=nope&state=s1&iss=${encodeURIComponent(issuer)}`,
      { _tag: "AuthorizationDenied", error: "invalid_scope", errorDescription: "nope" },
    ],
    [
      "access_denied",
      silent,
      "error=access_denied&state=s1",
      { _tag: "AuthorizationDenied", error: "access_denied" },
    ],
    ["no code", silent, "state=s1", { _tag: "InvalidCallback" }],
    ["duplicated state", silent, "code=abc&state=s1&state=s1", { _tag: "InvalidCallback" }],
  ] as const)("%s", async (_name, input, query, expected) => {
    const result = await run(input, query);
    expect(result).toMatchObject({ _tag: "Left", left: expected });
  });

  it("A11: a callback at another path or origin is refused", async () => {
    const wrong = await Effect.runPromise(
      Effect.either(validateCallback(silent, "s1", "http://127.0.0.1:33418/other?code=a&state=s1")),
    );
    expect(wrong).toMatchObject({ _tag: "Left", left: { _tag: "InvalidCallback" } });
    const garbage = await Effect.runPromise(Effect.either(validateCallback(silent, "s1", "::::")));
    expect(garbage).toMatchObject({ _tag: "Left", left: { _tag: "InvalidCallback" } });
  });

  it("no error message carries the code", async () => {
    const result = await run(silent, "code=SECRET-CODE&state=zz");
    expect(result._tag).toBe("Left");
    if (result._tag === "Left") expect(result.left.message).not.toContain("SECRET-CODE");
  });
});
