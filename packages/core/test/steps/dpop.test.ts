/**
 * DPoP at the token endpoint (RFC 9449 §5, §8) for every grant that obtains an access token, and
 * the resource side the session will drive (§7.1, §9): against scripted token endpoints and
 * against oidc-provider with DPoP on (the testkit's `authServer.dpop` and `mcp.dpop`).
 */
import {
  type ScriptedRequest,
  type ScriptedServer,
  startScriptedServer,
  startTestkit,
  type Testkit,
} from "@authchart/testkit";
import { describe, expect, it } from "@effect/vitest";
import { Effect, Layer, Option, Redacted } from "effect";
import { afterAll, beforeAll } from "vitest";
import { readResourceNonceChallenge } from "../../src/protocol/dpop.js";
import type { ClientRegistration, TokenSet } from "../../src/schema/credentials.js";
import { dpopKeyStoreKey } from "../../src/services/credential-store.js";
import { DPoP, type DpopOptions } from "../../src/services/dpop.js";
import { OAuthHttp } from "../../src/services/http.js";
import { Randomness } from "../../src/services/randomness.js";
import { UserAgent } from "../../src/services/user-agent.js";
import { authorize } from "../../src/steps/authorize.js";
import { CLIENT_CREDENTIALS_GRANT, clientCredentials } from "../../src/steps/client-credentials.js";
import { DEVICE_CODE_GRANT, pollDeviceToken } from "../../src/steps/device-authorization.js";
import { discoverAuthServer } from "../../src/steps/discover-auth-server.js";
import { jwtBearerGrant } from "../../src/steps/jwt-bearer.js";
import { register } from "../../src/steps/register.js";
import { exchangeCode, refresh } from "../../src/steps/tokens.js";
import {
  decodeJwt,
  jwkThumbprint,
  privateKeyMaterial,
  proofSignatureVerifies,
  recordingStore,
  sha256Base64Url,
} from "../dpop-support.js";
import { asMetadata, failureOf, json, redirectUri, settings } from "../support.js";
import { jwtPayload } from "./grant-helpers.js";

const baseLayer = (user?: (url: string) => Promise<string>) =>
  Layer.mergeAll(
    OAuthHttp.layerFetch({ allowInsecureLoopback: true }),
    Randomness.layer,
    UserAgent.fromPromise(async (prompt) => {
      if (!user) throw new Error("no user in this test");
      return user(prompt.url);
    }),
  );

/** Real HTTP, real randomness, a recording store and a DPoP service over it. */
const dpopLayer = (
  options: {
    readonly dpop?: DpopOptions;
    readonly user?: (url: string) => Promise<string>;
    readonly recording?: ReturnType<typeof recordingStore>;
  } = {},
) =>
  Layer.merge(
    baseLayer(options.user),
    (options.recording ?? recordingStore()).withDpop(options.dpop ?? {}),
  );

/** The same without any DPoP service: what every session had before DPoP. */
const withoutDpop = () => Layer.merge(baseLayer(), recordingStore().layer);

const proofOf = (req: ScriptedRequest | undefined) => {
  const header = req?.headers.dpop;
  return typeof header === "string" ? header : undefined;
};

describe("against scripted token endpoints", () => {
  let server: ScriptedServer;
  let requests: ScriptedRequest[] = [];
  beforeAll(async () => {
    server = await startScriptedServer();
  });
  afterAll(() => server.close());

  const metadata = (algs?: readonly string[]) => ({
    ...asMetadata(server.origin),
    ...(algs === undefined ? {} : { dpop_signing_alg_values_supported: [...algs] }),
  });
  const client: ClientRegistration = {
    issuer: "",
    kind: "dynamic",
    clientId: "client-1",
    clientSecret: Redacted.make("client-secret-1"),
    tokenEndpointAuthMethod: "client_secret_post",
    redirectUris: [redirectUri],
    registeredAt: 0,
  };
  const held = (tokenType: TokenSet["tokenType"] = "DPoP"): TokenSet => ({
    key: { resource: "https://mcp.example/mcp", issuer: server.origin, clientId: "client-1" },
    accessToken: Redacted.make("old-access"),
    tokenType,
    refreshToken: Redacted.make("old-refresh"),
    scopes: ["a"],
    obtainedAt: 0,
    version: 3,
  });
  /** The token endpoint answers from `script`, one answer per request (the last one repeats). */
  const script = (...answers: ((n: number) => ReturnType<typeof json>)[]) => {
    requests = [];
    server.route("/token", (req) => {
      requests.push(req);
      const n = requests.length;
      const next = answers[Math.min(n, answers.length) - 1];
      return next ? next(n) : json({ error: "server_error" }, 500);
    });
  };
  const dpopToken = () => json({ access_token: "new-access", token_type: "DPoP" });
  const useNonce = (nonce?: string) => () =>
    json({ error: "use_dpop_nonce" }, 400, nonce === undefined ? {} : { "dpop-nonce": nonce });
  const refreshAt = (algs?: readonly string[], tokenType?: TokenSet["tokenType"]) =>
    refresh({
      issuer: server.origin,
      metadata: metadata(algs),
      client: { ...client, issuer: server.origin },
      tokens: held(tokenType),
    });

  it.live("RFC 9449 §5: a proof for the token endpoint; token_type DPoP is recorded", () =>
    Effect.gen(function* () {
      script(dpopToken);
      const tokens = yield* refreshAt(["ES256"]);
      expect(tokens.tokenType).toBe("DPoP");
      expect(requests).toHaveLength(1);
      const proof = proofOf(requests[0]) ?? "";
      const { header, payload } = decodeJwt(proof);
      expect(header).toMatchObject({ typ: "dpop+jwt", alg: "ES256" });
      expect(payload).toMatchObject({ htm: "POST", htu: `${server.origin}/token` });
      expect(payload.ath).toBeUndefined();
      expect(payload.nonce).toBeUndefined();
      expect(yield* Effect.promise(() => proofSignatureVerifies(proof))).toBe(true);
      // The client authenticates as before; the proof is not a credential.
      expect(new URLSearchParams(requests[0]?.body).get("client_secret")).toBe("client-secret-1");
    }).pipe(Effect.provide(dpopLayer())),
  );

  it.live(
    "RFC 9449 §5.1: a Bearer token set is refreshed without a proof when the server lists no DPoP algorithm, or none in common",
    () =>
      Effect.gen(function* () {
        script(() => json({ access_token: "a", token_type: "Bearer" }));
        expect((yield* refreshAt(undefined, "Bearer")).tokenType).toBe("Bearer");
        expect(proofOf(requests[0])).toBeUndefined();
        script(() => json({ access_token: "a", token_type: "Bearer" }));
        yield* refreshAt(["HS256"], "Bearer");
        expect(proofOf(requests[0])).toBeUndefined();
      }).pipe(Effect.provide(dpopLayer())),
  );

  it.live(
    "RFC 9449 §5: a DPoP-bound token set is refreshed with a proof even where the server lists no algorithm any more (its refresh token may be bound to the key); a Bearer answer is the server's choice",
    () =>
      Effect.gen(function* () {
        for (const algs of [undefined, ["HS256"]]) {
          script(dpopToken);
          expect((yield* refreshAt(algs)).tokenType).toBe("DPoP");
          expect(decodeJwt(proofOf(requests[0]) ?? "").header).toMatchObject({ typ: "dpop+jwt" });
          script(() => json({ access_token: "a", token_type: "Bearer" }));
          expect((yield* refreshAt(algs)).tokenType).toBe("Bearer");
          expect(proofOf(requests[0])).toBeDefined();
        }
      }).pipe(Effect.provide(dpopLayer())),
  );

  it.live('policy "off": a DPoP-bound token set is refreshed without a proof', () =>
    Effect.gen(function* () {
      script(() => json({ access_token: "a", token_type: "Bearer" }));
      expect((yield* refreshAt(["ES256"])).tokenType).toBe("Bearer");
      expect(proofOf(requests[0])).toBeUndefined();
    }).pipe(Effect.provide(dpopLayer({ dpop: { policy: "off" } }))),
  );

  it.live("RFC 9449 §8: use_dpop_nonce is retried exactly once, with the nonce and a new jti", () =>
    Effect.gen(function* () {
      script(useNonce("as-nonce-1"), dpopToken);
      const tokens = yield* refreshAt(["ES256"]);
      expect(tokens.tokenType).toBe("DPoP");
      expect(requests).toHaveLength(2);
      const [first, second] = requests.map((r) => decodeJwt(proofOf(r) ?? "").payload);
      expect(first?.nonce).toBeUndefined();
      expect(second?.nonce).toBe("as-nonce-1");
      expect(second?.jti).not.toBe(first?.jti);
      // Client authentication again, on a body of its own.
      expect(new URLSearchParams(requests[1]?.body).getAll("client_secret")).toEqual([
        "client-secret-1",
      ]);
      // The nonce is remembered: the next request carries it from the start.
      script(dpopToken);
      yield* refreshAt(["ES256"]);
      expect(requests).toHaveLength(1);
      expect(decodeJwt(proofOf(requests[0]) ?? "").payload.nonce).toBe("as-nonce-1");
    }).pipe(Effect.provide(dpopLayer())),
  );

  it.live("a use_dpop_nonce DPoP challenge on a 401 is a nonce demand too", () =>
    Effect.gen(function* () {
      script(
        () =>
          json({}, 401, {
            "www-authenticate": 'DPoP error="use_dpop_nonce", algs="ES256"',
            "dpop-nonce": "from-challenge",
          }),
        dpopToken,
      );
      expect((yield* refreshAt(["ES256"])).tokenType).toBe("DPoP");
      expect(requests).toHaveLength(2);
      expect(decodeJwt(proofOf(requests[1]) ?? "").payload.nonce).toBe("from-challenge");
    }).pipe(Effect.provide(dpopLayer())),
  );

  it.live("RFC 9449 §8: a second use_dpop_nonce is TokenRejected, never another round", () =>
    Effect.gen(function* () {
      script((n) => useNonce(`nonce-${n}`)());
      const error = yield* failureOf(refreshAt(["ES256"]));
      expect(error).toMatchObject({ _tag: "TokenRejected", code: "use_dpop_nonce", status: 400 });
      expect(requests).toHaveLength(2);
      // No nonce to retry with, or the very nonce just sent: no retry at all.
      script(useNonce());
      expect(yield* failureOf(refreshAt(["ES256"]))).toMatchObject({ code: "use_dpop_nonce" });
      expect(requests).toHaveLength(1);
      script(useNonce("nonce-2"));
      expect(yield* failureOf(refreshAt(["ES256"]))).toMatchObject({ code: "use_dpop_nonce" });
      expect(requests).toHaveLength(1);
    }).pipe(Effect.provide(dpopLayer())),
  );

  it.live("a nonce is remembered from a successful answer too (RFC 9449 §8.2)", () =>
    Effect.gen(function* () {
      script(() => json({ access_token: "a", token_type: "DPoP" }, 200, { "dpop-nonce": "fresh" }));
      yield* refreshAt(["ES256"]);
      yield* refreshAt(["ES256"]);
      expect(decodeJwt(proofOf(requests[1]) ?? "").payload.nonce).toBe("fresh");
    }).pipe(Effect.provide(dpopLayer())),
  );

  it.live("RFC 9449 §5: token_type DPoP without a proof is DpopBindingMismatch", () =>
    Effect.gen(function* () {
      script(dpopToken);
      expect(yield* failureOf(refreshAt(["ES256"]))).toMatchObject({
        _tag: "DpopBindingMismatch",
        received: "DPoP",
        grantType: "refresh_token",
      });
      expect(proofOf(requests[0])).toBeUndefined();
    }).pipe(Effect.provide(withoutDpop())),
  );

  it.live("policy off: no proof even where DPoP is advertised", () =>
    Effect.gen(function* () {
      script(() => json({ access_token: "a", token_type: "Bearer" }));
      expect((yield* refreshAt(["ES256"])).tokenType).toBe("Bearer");
      expect(proofOf(requests[0])).toBeUndefined();
    }).pipe(Effect.provide(dpopLayer({ dpop: { policy: "off" } }))),
  );

  it.live("auto: a Bearer answer to a proof is a Bearer token (RFC 9449 §5)", () =>
    Effect.gen(function* () {
      script(() => json({ access_token: "a", token_type: "bearer" }));
      expect((yield* refreshAt(["ES256"])).tokenType).toBe("Bearer");
      expect(proofOf(requests[0])).toBeDefined();
    }).pipe(Effect.provide(dpopLayer())),
  );

  it.live("required: a Bearer answer is refused; no common algorithm is refused unsent", () =>
    Effect.gen(function* () {
      script(() => json({ access_token: "a", token_type: "Bearer" }));
      expect(yield* failureOf(refreshAt(["ES256"]))).toMatchObject({
        _tag: "DpopBindingMismatch",
        received: "Bearer",
      });
      // Nothing listed: a proof with ES256 anyway.
      script(dpopToken);
      expect((yield* refreshAt()).tokenType).toBe("DPoP");
      expect(decodeJwt(proofOf(requests[0]) ?? "").header.alg).toBe("ES256");
      script(dpopToken);
      const unsupported = yield* failureOf(refreshAt(["HS256", "ES512"]));
      expect(unsupported).toMatchObject({
        _tag: "DpopUnsupported",
        advertised: ["HS256", "ES512"],
      });
      expect(requests).toHaveLength(0);
    }).pipe(Effect.provide(dpopLayer({ dpop: { policy: "required" } }))),
  );

  it.live("the other grants carry proofs: client credentials, JWT bearer, device code", () =>
    Effect.gen(function* () {
      const context = {
        issuer: server.origin,
        metadata: metadata(["ES256"]),
        client: { ...client, issuer: server.origin },
        resource: "https://mcp.example/mcp",
      };
      script(dpopToken);
      expect((yield* clientCredentials(context)).tokenType).toBe("DPoP");
      expect(new URLSearchParams(requests[0]?.body).get("grant_type")).toBe(
        CLIENT_CREDENTIALS_GRANT,
      );
      expect(proofOf(requests[0])).toBeDefined();

      // A use_dpop_nonce judges the proof, not the assertion: retried, not a final rejection.
      script(useNonce("n-jwt"), dpopToken);
      const viaAssertion = yield* jwtBearerGrant({
        ...context,
        assertion: Redacted.make("eyJ.assertion.sig"),
      });
      expect(viaAssertion.tokenType).toBe("DPoP");
      expect(requests).toHaveLength(2);
      expect(decodeJwt(proofOf(requests[1]) ?? "").payload.nonce).toBe("n-jwt");

      script(() => json({ error: "authorization_pending" }, 400), dpopToken);
      const polled = yield* pollDeviceToken({
        ...context,
        authorization: {
          deviceCode: Redacted.make("device-code"),
          expiresAt: Date.now() + 60_000,
          intervalSeconds: 1,
        },
      });
      expect(polled.tokenType).toBe("DPoP");
      expect(requests.map((r) => new URLSearchParams(r.body).get("grant_type"))).toEqual([
        DEVICE_CODE_GRANT,
        DEVICE_CODE_GRANT,
      ]);
      const jtis = requests.map((r) => decodeJwt(proofOf(r) ?? "").payload.jti);
      expect(new Set(jtis).size).toBe(2);
    }).pipe(Effect.provide(dpopLayer())),
  );
});

/** The resource answers with these headers; the proof and nonce come from the DPoP service. */
const callResource = (
  kit: Testkit,
  headers: {
    readonly authorization: Redacted.Redacted<string>;
    readonly dpop?: string | undefined;
  },
) =>
  Effect.promise(async () => {
    const response = await fetch(kit.mcpUrl, {
      method: "POST",
      headers: {
        authorization: Redacted.value(headers.authorization),
        ...(headers.dpop === undefined ? {} : { dpop: headers.dpop }),
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-11-25",
          capabilities: {},
          clientInfo: { name: "dpop-test", version: "0" },
        },
      }),
    });
    await response.body?.cancel();
    return {
      status: response.status,
      wwwAuthenticate: response.headers.get("www-authenticate"),
      dpopNonce: response.headers.get("dpop-nonce"),
    };
  });

describe("against oidc-provider with DPoP on", () => {
  const obtain = (kit: Testkit) =>
    Effect.gen(function* () {
      const as = yield* discoverAuthServer(kit.issuer);
      const scopes = ["mcp:read", "offline_access"];
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

  describe("no nonces", () => {
    let kit: Testkit;
    beforeAll(async () => {
      kit = await startTestkit({
        authServer: { dpop: true, clientCredentials: true },
        mcp: { dpop: true },
      });
    });
    afterAll(() => kit.close());
    const recording = recordingStore();

    it.live(
      "code and refresh carry proofs; token_type DPoP; cnf.jkt is the key's; the resource accepts it",
      () =>
        Effect.gen(function* () {
          const dpop = yield* DPoP;
          const { as, client, tokens } = yield* obtain(kit);
          expect(as.metadata.dpop_signing_alg_values_supported).toContain("ES256");
          expect(tokens.tokenType).toBe("DPoP");
          const jkt = Option.getOrThrow(yield* dpop.thumbprint(tokens.key));
          expect(jwtPayload(tokens.accessToken).cnf).toEqual({ jkt });
          expect(kit.requests.filter((r) => r.kind === "token").map((r) => r.dpop)).toEqual([true]);

          // RFC 9449 §7.1: `Authorization: DPoP` with a fresh proof — accepted; as Bearer — refused.
          const headers = yield* dpop.resourceRequestHeaders({
            tokens,
            method: "POST",
            url: kit.mcpUrl,
          });
          expect((yield* callResource(kit, headers)).status).toBe(200);
          const asBearer = yield* callResource(kit, {
            authorization: Redacted.make(`Bearer ${Redacted.value(tokens.accessToken)}`),
          });
          expect(asBearer.status).toBe(401);
          expect(asBearer.wwwAuthenticate).toMatch(/^DPoP error="invalid_token"/);
          // The same proof twice is a replay (RFC 9449 §11.1).
          expect((yield* callResource(kit, headers)).status).toBe(401);

          // RFC 9449 §5: the refresh is signed with the same key; the new token is bound to it.
          const refreshed = yield* refresh({
            issuer: as.issuer,
            metadata: as.metadata,
            client,
            tokens,
          });
          expect(refreshed.tokenType).toBe("DPoP");
          expect(jwtPayload(refreshed.accessToken).cnf).toEqual({ jkt });
          const tokenRequests = kit.requests.filter((r) => r.kind === "token");
          expect(tokenRequests.map((r) => [r.grantType, r.dpop])).toEqual([
            ["authorization_code", true],
            ["refresh_token", true],
          ]);

          // The public client's refresh token is bound to the key: another key cannot use it.
          yield* dpop.discardKey(tokens.key);
          const stolen = yield* failureOf(
            refresh({ issuer: as.issuer, metadata: as.metadata, client, tokens: refreshed }),
          );
          expect(stolen).toMatchObject({ _tag: "TokenRejected", code: "invalid_grant" });

          // No private key material anywhere but in the key's own store entry.
          const secrets = [...recording.entries]
            .filter(([k]) => k.startsWith("authchart/dpop-key/"))
            .flatMap(([, v]) => privateKeyMaterial(v));
          expect(secrets.length).toBeGreaterThan(0);
          const elsewhere = [
            ...[...recording.entries]
              .filter(([k]) => !k.startsWith("authchart/dpop-key/"))
              .map(([, v]) => v),
            JSON.stringify([tokens, refreshed, headers, stolen]),
            stolen.message,
            JSON.stringify(kit.requests),
          ];
          for (const text of elsewhere) {
            for (const secret of secrets) expect(text).not.toContain(secret);
          }
          expect(recording.entries.has(dpopKeyStoreKey(tokens.key))).toBe(true);
        }).pipe(Effect.provide(dpopLayer({ user: (u) => kit.user.authorize(u), recording }))),
    );

    it.live("client credentials: a DPoP-bound token too", () =>
      Effect.gen(function* () {
        const as = yield* discoverAuthServer(kit.issuer);
        const registered = yield* Effect.promise(() =>
          kit.registerClient({
            grant_types: [CLIENT_CREDENTIALS_GRANT],
            response_types: [],
            redirect_uris: [],
            token_endpoint_auth_method: "client_secret_basic",
          }),
        );
        const tokens = yield* clientCredentials({
          issuer: as.issuer,
          metadata: as.metadata,
          client: {
            issuer: as.issuer,
            kind: "pre-registered",
            clientId: String(registered.client_id),
            clientSecret: Redacted.make(String(registered.client_secret)),
            tokenEndpointAuthMethod: "client_secret_basic",
            redirectUris: [],
            registeredAt: 0,
          },
          resource: kit.mcpUrl,
          scopes: ["mcp:read"],
        });
        expect(tokens.tokenType).toBe("DPoP");
        const dpop = yield* DPoP;
        const jkt = Option.getOrThrow(yield* dpop.thumbprint(tokens.key));
        expect(jwtPayload(tokens.accessToken).cnf).toEqual({ jkt });
        const headers = yield* dpop.resourceRequestHeaders({
          tokens,
          method: "POST",
          url: kit.mcpUrl,
        });
        expect((yield* callResource(kit, headers)).status).toBe(200);
      }).pipe(Effect.provide(dpopLayer())),
    );
  });

  describe("nonces required by both servers", () => {
    let kit: Testkit;
    beforeAll(async () => {
      kit = await startTestkit({
        authServer: { dpop: { requireNonce: true } },
        mcp: { dpop: { requireNonce: true } },
      });
    });
    afterAll(() => kit.close());

    it.live("RFC 9449 §8, §9: one retry with each server's nonce, then the nonce is known", () =>
      Effect.gen(function* () {
        const dpop = yield* DPoP;
        const { as, client, tokens } = yield* obtain(kit);
        expect(tokens.tokenType).toBe("DPoP");
        // The authorization server asked once (400 use_dpop_nonce), the retry had it.
        expect(
          kit.requests.filter((r) => r.kind === "token").map((r) => [r.status, r.dpop]),
        ).toEqual([
          [400, true],
          [200, true],
        ]);
        const refreshed = yield* refresh({
          issuer: as.issuer,
          metadata: as.metadata,
          client,
          tokens,
        });
        expect(refreshed.tokenType).toBe("DPoP");
        expect(kit.requests.filter((r) => r.kind === "token").map((r) => r.status)).toEqual([
          400, 200, 200,
        ]);

        // The resource server: 401 use_dpop_nonce with DPoP-Nonce, read by the pure parser.
        const first = yield* callResource(
          kit,
          yield* dpop.resourceRequestHeaders({
            tokens: refreshed,
            method: "POST",
            url: kit.mcpUrl,
          }),
        );
        expect(first.status).toBe(401);
        const nonce = readResourceNonceChallenge(first);
        expect(nonce).toBeDefined();
        // The session's part: remember the nonce from the answer, retry once with a new proof.
        yield* dpop.rememberNonce("resource-server", kit.mcpUrl, first.dpopNonce);
        const retryHeaders = yield* dpop.resourceRequestHeaders({
          tokens: refreshed,
          method: "POST",
          url: kit.mcpUrl,
        });
        expect(decodeJwt(retryHeaders.dpop ?? "").payload.nonce).toBe(nonce);
        expect(decodeJwt(retryHeaders.dpop ?? "").payload.ath).toBe(
          yield* Effect.promise(() => sha256Base64Url(Redacted.value(refreshed.accessToken))),
        );
        expect((yield* callResource(kit, retryHeaders)).status).toBe(200);
        // The AS nonce and the RS nonce are kept apart (both servers are on loopback origins).
        expect(yield* dpop.nonce("resource-server", kit.mcpUrl)).toEqual(Option.some(nonce));
        expect(yield* dpop.nonce("authorization-server", kit.mcpUrl)).toEqual(Option.none());

        // A rotated nonce: asked again.
        kit.rotateDpopNonce();
        const stale = yield* callResource(
          kit,
          yield* dpop.resourceRequestHeaders({
            tokens: refreshed,
            method: "POST",
            url: kit.mcpUrl,
          }),
        );
        expect(stale.status).toBe(401);
        expect(readResourceNonceChallenge(stale)).not.toBe(nonce);
        expect(readResourceNonceChallenge(stale)).toBeDefined();
      }).pipe(Effect.provide(dpopLayer({ user: (u) => kit.user.authorize(u) }))),
    );
  });
});

describe("the thumbprint helper agrees with RFC 7638's example", () => {
  it("RFC 7638 §3.1", async () => {
    expect(
      await jwkThumbprint({
        kty: "RSA",
        n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        e: "AQAB",
        alg: "RS256",
        kid: "2011-04-29",
      }),
    ).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });
});
