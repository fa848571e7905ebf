/**
 * Enterprise-managed authorization / cross-app access (SEP-990): RFC 8693 token exchange at the
 * IdP for an ID-JAG, then the JWT bearer grant (RFC 7523) with it at the real authorization server.
 */

import {
  type ScriptedServer,
  startScriptedServer,
  startTestkit,
  type Testkit,
} from "@authchart/testkit";
import { describe, expect, it } from "@effect/vitest";
import { Effect, Option, Redacted } from "effect";
import { afterAll, beforeAll } from "vitest";
import type { ClientRegistration } from "../../src/schema/credentials.js";
import { CredentialStore } from "../../src/services/credential-store.js";
import { discoverAuthServer } from "../../src/steps/discover-auth-server.js";
import { JWT_BEARER_GRANT } from "../../src/steps/jwt-bearer.js";
import {
  crossAppAccess,
  idJagRequestParams,
  processIdJagResponse,
  requestIdJag,
  TOKEN_EXCHANGE_GRANT,
  TokenTypes,
} from "../../src/steps/token-exchange.js";
import { asMetadata, failureOf, json, stepLayer } from "../support.js";
import { answer, jwtPayload, resourceStatus, rsaKeyPair, signJwt } from "./grant-helpers.js";

const ID_JAG_TYP = "oauth-id-jag+jwt";

describe("the token exchange request and answer (pure)", () => {
  it("RFC 8693 §2.1 / SEP-990: exactly the parameters the conformance suite checks", () => {
    const params = idJagRequestParams({
      subjectToken: Redacted.make("id-token"),
      audience: "https://as.example",
      resource: "https://mcp.example/mcp",
      scopes: ["chat.read", "chat.history"],
    });
    expect(Object.fromEntries(params)).toEqual({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      requested_token_type: "urn:ietf:params:oauth:token-type:id-jag",
      audience: "https://as.example",
      resource: "https://mcp.example/mcp",
      subject_token: "id-token",
      subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
      scope: "chat.read chat.history",
    });
    expect(
      idJagRequestParams({
        subjectToken: Redacted.make("rt"),
        subjectTokenType: "refresh_token",
        audience: "a",
        resource: "r",
      }).get("subject_token_type"),
    ).toBe(TokenTypes.refreshToken);
  });

  it.effect("RFC 8693 §2.2.1: issued_token_type must be id-jag, token_type N_A", () =>
    Effect.gen(function* () {
      const ok = yield* processIdJagResponse(
        answer(200, {
          access_token: "eyJ.id.jag",
          issued_token_type: TokenTypes.idJag,
          token_type: "N_A",
          expires_in: 300,
          scope: "chat.read",
        }),
      );
      expect(Redacted.value(ok.assertion)).toBe("eyJ.id.jag");
      expect(ok.scopes).toEqual(["chat.read"]);
      expect(ok.expiresAt).toBeGreaterThan(0);
      // token_type is case-insensitive (RFC 6749 §5.1) and tolerated when missing.
      yield* processIdJagResponse(
        answer(200, { access_token: "x", issued_token_type: TokenTypes.idJag, token_type: "n_a" }),
      );
      yield* processIdJagResponse(
        answer(200, { access_token: "x", issued_token_type: TokenTypes.idJag }),
      );

      const accessToken = yield* failureOf(
        processIdJagResponse(
          answer(200, {
            access_token: "LEAKED-TOKEN",
            issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
            token_type: "Bearer",
          }),
        ),
      );
      expect(accessToken).toMatchObject({
        _tag: "TokenEndpointFailed",
        grantType: TOKEN_EXCHANGE_GRANT,
      });
      expect(accessToken.message).not.toContain("LEAKED-TOKEN");
      const bearer = yield* failureOf(
        processIdJagResponse(
          answer(200, {
            access_token: "x",
            issued_token_type: TokenTypes.idJag,
            token_type: "Bearer",
          }),
        ),
      );
      expect(bearer).toMatchObject({ _tag: "TokenEndpointFailed" });
      const missing = yield* failureOf(
        processIdJagResponse(answer(200, { access_token: "x", token_type: "N_A" })),
      );
      expect(missing).toMatchObject({
        _tag: "InvalidDocument",
        document: "token exchange response",
      });
      const rejected = yield* failureOf(
        processIdJagResponse(answer(400, { error: "invalid_grant" })),
      );
      expect(rejected).toMatchObject({
        _tag: "TokenRejected",
        code: "invalid_grant",
        grantType: TOKEN_EXCHANGE_GRANT,
      });
    }),
  );
});

describe("cross-app access: a scripted IdP and the real authorization server", () => {
  let kit: Testkit;
  let idp: ScriptedServer;
  let idpKeys: CryptoKeyPair;
  beforeAll(async () => {
    idpKeys = await rsaKeyPair();
    idp = await startScriptedServer();
    kit = await startTestkit({
      authServer: {
        jwtBearer: { key: idpKeys.publicKey, issuer: idp.origin, typ: ID_JAG_TYP },
      },
    });
  });
  afterAll(async () => {
    await Promise.all([kit.close(), idp.close()]);
  });

  const idpClient = (): ClientRegistration => ({
    issuer: idp.origin,
    kind: "pre-registered",
    clientId: "idp-client",
    tokenEndpointAuthMethod: "none",
    redirectUris: [],
    registeredAt: 0,
  });

  const setup = Effect.gen(function* () {
    const as = yield* discoverAuthServer(kit.issuer);
    const registered = yield* Effect.promise(() =>
      kit.registerClient({
        grant_types: [JWT_BEARER_GRANT],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: "client_secret_basic",
      }),
    );
    const client: ClientRegistration = {
      issuer: as.issuer,
      kind: "pre-registered",
      clientId: String(registered.client_id),
      clientSecret: Redacted.make(String(registered.client_secret)),
      tokenEndpointAuthMethod: "client_secret_basic",
      redirectUris: [],
      registeredAt: 0,
    };
    const now = Math.floor(Date.now() / 1000);
    // The ID-JAG the IdP will issue (identity assertion grant draft §3): for this AS, this
    // resource and the MCP client's client_id at the AS.
    const idJag = yield* Effect.promise(() =>
      signJwt(
        idpKeys.privateKey,
        {
          iss: idp.origin,
          sub: "alice@example.com",
          aud: kit.issuer,
          client_id: client.clientId,
          resource: kit.mcpUrl,
          scope: "mcp:read",
          iat: now,
          exp: now + 300,
          jti: crypto.randomUUID(),
        },
        { typ: ID_JAG_TYP },
      ),
    );
    return { as, client, idJag };
  });

  it.live("SEP-990: ID token -> ID-JAG at the IdP -> access token at the AS, saved", () =>
    Effect.gen(function* () {
      const { as, client, idJag } = yield* setup;
      let exchange: URLSearchParams | undefined;
      idp.route("/token", (req) => {
        exchange = new URLSearchParams(req.body);
        return json({
          access_token: idJag,
          issued_token_type: TokenTypes.idJag,
          token_type: "N_A",
          expires_in: 300,
          scope: "mcp:read",
        });
      });
      kit.clearLog();
      const tokens = yield* crossAppAccess({
        idp: { issuer: idp.origin, metadata: asMetadata(idp.origin), client: idpClient() },
        subjectToken: Redacted.make("the-users-id-token"),
        authorizationServer: { issuer: as.issuer, metadata: as.metadata, client },
        resource: kit.mcpUrl,
        scopes: ["mcp:read"],
      });
      expect(Object.fromEntries(exchange ?? [])).toEqual({
        grant_type: TOKEN_EXCHANGE_GRANT,
        requested_token_type: TokenTypes.idJag,
        audience: kit.issuer,
        resource: kit.mcpUrl,
        subject_token: "the-users-id-token",
        subject_token_type: TokenTypes.idToken,
        scope: "mcp:read",
        client_id: "idp-client",
      });
      expect(tokens).toMatchObject({
        key: { resource: kit.mcpUrl, issuer: kit.issuer, clientId: client.clientId },
        scopes: ["mcp:read"],
      });
      expect(jwtPayload(tokens.accessToken)).toMatchObject({
        sub: "alice@example.com",
        aud: kit.mcpUrl,
      });
      expect(yield* resourceStatus(kit.mcpUrl, tokens.accessToken)).not.toBe(401);
      expect(kit.count("token", { grantType: JWT_BEARER_GRANT })).toBe(1);
      const stored = yield* (yield* CredentialStore).loadTokens(tokens.key);
      expect(Option.isSome(stored)).toBe(true);
    }).pipe(Effect.provide(stepLayer())),
  );

  it.live(
    "an IdP answering with an access token instead of an ID-JAG: nothing goes to the AS",
    () =>
      Effect.gen(function* () {
        const { as, client } = yield* setup;
        idp.route(
          "/token",
          json({
            access_token: "idp-access-token",
            issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
            token_type: "Bearer",
          }),
        );
        kit.clearLog();
        const error = yield* failureOf(
          crossAppAccess({
            idp: { issuer: idp.origin, metadata: asMetadata(idp.origin), client: idpClient() },
            subjectToken: Redacted.make("id-token"),
            authorizationServer: { issuer: as.issuer, metadata: as.metadata, client },
            resource: kit.mcpUrl,
          }),
        );
        expect(error).toMatchObject({
          _tag: "TokenEndpointFailed",
          grantType: TOKEN_EXCHANGE_GRANT,
        });
        expect(kit.count("token")).toBe(0);
      }).pipe(Effect.provide(stepLayer())),
  );

  it.live(
    "the IdP refusing the ID token is TokenRejected; the AS refusing the ID-JAG is final",
    () =>
      Effect.gen(function* () {
        const { as, client } = yield* setup;
        idp.route(
          "/token",
          json({ error: "invalid_grant", error_description: "Invalid ID token" }, 400),
        );
        const refused = yield* failureOf(
          requestIdJag({
            idp: { issuer: idp.origin, metadata: asMetadata(idp.origin), client: idpClient() },
            subjectToken: Redacted.make("id-token"),
            audience: kit.issuer,
            resource: kit.mcpUrl,
          }),
        );
        expect(refused).toMatchObject({ _tag: "TokenRejected", code: "invalid_grant" });

        // An ID-JAG signed by someone else: the AS says invalid_grant, once.
        const forger = yield* Effect.promise(rsaKeyPair);
        const forged = yield* Effect.promise(() =>
          signJwt(
            forger.privateKey,
            {
              iss: idp.origin,
              sub: "mallory",
              aud: kit.issuer,
              client_id: client.clientId,
              exp: Math.floor(Date.now() / 1000) + 300,
            },
            { typ: ID_JAG_TYP },
          ),
        );
        idp.route(
          "/token",
          json({ access_token: forged, issued_token_type: TokenTypes.idJag, token_type: "N_A" }),
        );
        kit.clearLog();
        const rejected = yield* failureOf(
          crossAppAccess({
            idp: { issuer: idp.origin, metadata: asMetadata(idp.origin), client: idpClient() },
            subjectToken: Redacted.make("id-token"),
            authorizationServer: { issuer: as.issuer, metadata: as.metadata, client },
            resource: kit.mcpUrl,
          }),
        );
        expect(rejected).toMatchObject({
          _tag: "AssertionRejected",
          code: "invalid_grant",
          final: true,
        });
        expect(kit.count("token")).toBe(1);
      }).pipe(Effect.provide(stepLayer())),
  );
});
