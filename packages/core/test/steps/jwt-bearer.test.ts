/** The JWT bearer grant (RFC 7523 §2.1) for workload identity (SEP-1933). */

import { startTestkit, type Testkit } from "@authchart/testkit";
import { describe, expect, it } from "@effect/vitest";
import { Effect, Option, Redacted } from "effect";
import { afterAll, beforeAll } from "vitest";
import type { ClientRegistration } from "../../src/schema/credentials.js";
import { CredentialStore } from "../../src/services/credential-store.js";
import { discoverAuthServer } from "../../src/steps/discover-auth-server.js";
import {
  JWT_BEARER_GRANT,
  jwtBearerGrant,
  jwtBearerParams,
  processJwtBearerResponse,
} from "../../src/steps/jwt-bearer.js";
import { failureOf, stepLayer } from "../support.js";
import { answer, jwtPayload, resourceStatus, rsaKeyPair, signJwt } from "./grant-helpers.js";

const WORKLOAD_ISSUER = "https://workload-idp.example";

describe("the request and the answer (pure)", () => {
  it("RFC 7523 §2.1: grant_type, assertion, scope and the resource indicator", () => {
    const params = jwtBearerParams({
      assertion: Redacted.make("eyJ.a.b"),
      resource: "https://mcp.example/mcp",
      scopes: ["mcp:read"],
    });
    expect(Object.fromEntries(params)).toEqual({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion: "eyJ.a.b",
      scope: "mcp:read",
      resource: "https://mcp.example/mcp",
    });
  });

  it.effect("an OAuth error is AssertionRejected, final, and never quotes the assertion", () =>
    Effect.gen(function* () {
      for (const code of ["invalid_grant", "invalid_scope", "unauthorized_client"]) {
        const error = yield* failureOf(
          processJwtBearerResponse(
            answer(400, { error: code, error_description: "assertion eyJhbGciOiJSUzI1NiJ9.x.y" }),
          ),
        );
        expect(error).toMatchObject({
          _tag: "AssertionRejected",
          code,
          final: true,
          grantType: JWT_BEARER_GRANT,
        });
        expect(error.message).not.toContain("eyJhbGciOiJSUzI1NiJ9");
      }
      const granted = yield* processJwtBearerResponse(
        answer(200, { access_token: "at", token_type: "Bearer" }),
      );
      expect(granted.access_token).toBe("at");
      expect(yield* failureOf(processJwtBearerResponse(answer(503, {})))).toMatchObject({
        _tag: "TokenEndpointFailed",
        status: 503,
      });
    }),
  );
});

describe("against the real authorization server", () => {
  let kit: Testkit;
  let keys: CryptoKeyPair;
  beforeAll(async () => {
    keys = await rsaKeyPair();
    kit = await startTestkit({
      authServer: { jwtBearer: { key: keys.publicKey, issuer: WORKLOAD_ISSUER } },
    });
  });
  afterAll(() => kit.close());

  const setup = Effect.gen(function* () {
    const as = yield* discoverAuthServer(kit.issuer);
    const answer = yield* Effect.promise(() =>
      kit.registerClient({
        grant_types: [JWT_BEARER_GRANT],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "none",
      }),
    );
    const client: ClientRegistration = {
      issuer: as.issuer,
      kind: "pre-registered",
      clientId: String(answer.client_id),
      tokenEndpointAuthMethod: "none",
      redirectUris: [],
      registeredAt: 0,
    };
    return { issuer: as.issuer, metadata: as.metadata, client };
  });

  const workloadToken = (claims: Record<string, unknown> = {}, key = keys.privateKey) =>
    Effect.promise(() =>
      signJwt(key, {
        iss: WORKLOAD_ISSUER,
        sub: "spiffe://example/workload",
        aud: kit.issuer,
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 300,
        ...claims,
      }),
    );

  it.live("SEP-1933: a workload token is exchanged for an access token and saved", () =>
    Effect.gen(function* () {
      const context = yield* setup;
      const assertion = Redacted.make(yield* workloadToken());
      kit.clearLog();
      const tokens = yield* jwtBearerGrant({
        ...context,
        assertion,
        resource: kit.mcpUrl,
        scopes: ["mcp:read"],
      });
      expect(tokens).toMatchObject({
        key: { resource: kit.mcpUrl, issuer: kit.issuer, clientId: context.client.clientId },
        scopes: ["mcp:read"],
      });
      expect(jwtPayload(tokens.accessToken)).toMatchObject({
        sub: "spiffe://example/workload",
        aud: kit.mcpUrl,
        scope: "mcp:read",
      });
      expect(kit.count("token", { grantType: JWT_BEARER_GRANT })).toBe(1);
      const stored = yield* (yield* CredentialStore).loadTokens(tokens.key);
      expect(Option.map(stored, (t) => t.version)).toEqual(Option.some(tokens.version));
      const status = yield* resourceStatus(kit.mcpUrl, tokens.accessToken);
      expect(status).not.toBe(401);
    }).pipe(Effect.provide(stepLayer())),
  );

  it.live("the assertion may come from an Effect, asked again on every run", () =>
    Effect.gen(function* () {
      const context = yield* setup;
      let reads = 0;
      const source = Effect.map(workloadToken(), (token) => {
        reads++;
        return Redacted.make(token);
      });
      yield* jwtBearerGrant({ ...context, assertion: source, resource: kit.mcpUrl });
      yield* jwtBearerGrant({ ...context, assertion: source, resource: kit.mcpUrl });
      expect(reads).toBe(2);
    }).pipe(Effect.provide(stepLayer())),
  );

  it.live(
    "wrong audience, expired or foreign-signed: AssertionRejected(invalid_grant), one request each",
    () =>
      Effect.gen(function* () {
        const context = yield* setup;
        const other = yield* Effect.promise(rsaKeyPair);
        const bad = [
          yield* workloadToken({ aud: "https://wrong.example" }),
          yield* workloadToken({ exp: Math.floor(Date.now() / 1000) - 60 }),
          yield* workloadToken({}, other.privateKey),
        ];
        for (const token of bad) {
          kit.clearLog();
          const error = yield* failureOf(
            jwtBearerGrant({ ...context, assertion: Redacted.make(token), resource: kit.mcpUrl }),
          );
          expect(error).toMatchObject({
            _tag: "AssertionRejected",
            code: "invalid_grant",
            final: true,
          });
          expect(error.message).not.toContain(token.slice(0, 30));
          // Final: no retry, no fallback to another grant.
          expect(kit.requests.filter((r) => r.kind === "token")).toHaveLength(1);
        }
      }).pipe(Effect.provide(stepLayer())),
  );

  it.live("an empty assertion or a failing source: nothing is sent", () =>
    Effect.gen(function* () {
      const context = yield* setup;
      kit.clearLog();
      const empty = yield* failureOf(
        jwtBearerGrant({ ...context, assertion: Redacted.make(""), resource: kit.mcpUrl }),
      );
      expect(empty).toMatchObject({ _tag: "AssertionUnavailable" });
      const failing = yield* failureOf(
        jwtBearerGrant({
          ...context,
          assertion: Effect.fail({ _tag: "TokenFileMissing" as const }),
          resource: kit.mcpUrl,
        }),
      );
      expect(failing).toEqual({ _tag: "TokenFileMissing" });
      expect(kit.count("token")).toBe(0);
    }).pipe(Effect.provide(stepLayer())),
  );
});
