/**
 * Every grant for a resource whose metadata says dpop_bound_access_tokens_required (RFC 9728 §2),
 * at an authorization server that honours proofs without listing algorithms: "auto" proves on
 * every token request; "off" stops with DpopRequiredByResource before anything is sent that a
 * proof-less token would waste. Cross-app access: the IdP's token exchange never carries a proof.
 */
import { startScriptedServer } from "@authchart/testkit";
import { describe, expect, it } from "vitest";
import { createSession } from "../../../src/index.js";
import type { DpopPolicy } from "../../../src/protocol/dpop.js";
import { CredentialStore } from "../../../src/services/credential-store.js";
import { JWT_BEARER_GRANT } from "../../../src/steps/jwt-bearer.js";
import { TokenTypes } from "../../../src/steps/token-exchange.js";
import { rsaKeyPair, signJwt } from "../../steps/grant-helpers.js";
import { call, cleanups, kitWith, preRegisteredFor, settle, tokenRequests } from "./support.js";

const DEVICE = "urn:ietf:params:oauth:grant-type:device_code";

describe("client credentials", () => {
  const setup = async (dpop?: DpopPolicy) => {
    const kit = await kitWith({
      authServer: { dpop: { advertise: false }, clientCredentials: true },
      mcp: { dpop: { required: true } },
    });
    const client = await preRegisteredFor(kit, "client_credentials");
    const session = await createSession({
      serverUrl: kit.mcpUrl,
      store: CredentialStore.memory(),
      client: {
        clientName: "cc",
        grant: { type: "client_credentials" },
        preRegistered: [client],
      },
      ...(dpop === undefined ? {} : { dpop }),
    });
    cleanups.push(() => session.close());
    return { kit, session };
  };

  it('"auto": the client credentials request carries a proof, the token is DPoP-bound and works', async () => {
    const { kit, session } = await setup();
    expect((await call(session, kit)).status).toBe(200);
    expect(tokenRequests(kit)).toEqual([["client_credentials", true]]);
    kit.expireAccessTokens();
    expect((await call(session, kit)).status).toBe(200);
    expect(tokenRequests(kit).every(([, proved]) => proved)).toBe(true);
  }, 60_000);

  it('"off": DpopRequiredByResource, no token request at all, and none on the next call', async () => {
    const { kit, session } = await setup("off");
    const first = await settle(call(session, kit));
    expect(first.ok ? "ok" : first.error).toMatchObject({ _tag: "DpopRequiredByResource" });
    expect(tokenRequests(kit)).toEqual([]);
    const second = await settle(call(session, kit));
    expect(second.ok ? "ok" : second.error).toMatchObject({ _tag: "DpopRequiredByResource" });
    expect(tokenRequests(kit)).toEqual([]);
  }, 60_000);
});

describe("device authorization", () => {
  const setup = async (dpop?: DpopPolicy) => {
    const kit = await kitWith({
      authServer: { dpop: { advertise: false }, deviceFlow: { interval: 1 } },
      mcp: { dpop: { required: true } },
    });
    const shown: string[] = [];
    const session = await createSession({
      serverUrl: kit.mcpUrl,
      store: CredentialStore.memory(),
      client: { clientName: "dev", grant: { type: "device_code" } },
      deviceCodePresenter: async (prompt) => {
        shown.push(prompt.userCode);
        setTimeout(() => void kit.user.enterUserCode(prompt.verificationUri, prompt.userCode), 20);
      },
      ...(dpop === undefined ? {} : { dpop }),
    });
    cleanups.push(() => session.close());
    return { kit, session, shown };
  };

  it('"auto": every device token poll carries a proof; the token works', async () => {
    const { kit, session, shown } = await setup();
    expect((await call(session, kit)).status).toBe(200);
    expect(shown).toHaveLength(1);
    const polls = tokenRequests(kit).filter(([g]) => g === DEVICE);
    expect(polls.length).toBeGreaterThan(0);
    expect(polls.every(([, proved]) => proved)).toBe(true);
    kit.expireAccessTokens();
    expect((await call(session, kit)).status).toBe(200);
    expect(tokenRequests(kit).at(-1)).toEqual(["refresh_token", true]);
  }, 60_000);

  it('"off": DpopRequiredByResource before the device authorization request; no code shown', async () => {
    const { kit, session, shown } = await setup("off");
    const first = await settle(call(session, kit));
    expect(first.ok ? "ok" : first.error).toMatchObject({ _tag: "DpopRequiredByResource" });
    expect(shown).toEqual([]);
    expect(kit.count("device-authorization")).toBe(0);
    expect(tokenRequests(kit)).toEqual([]);
  }, 60_000);
});

describe("jwt bearer (RFC 7523) and cross-app access (SEP-990)", () => {
  const ID_JAG_TYP = "oauth-id-jag+jwt";

  it('jwt_bearer "auto": the grant carries a proof; a Bearer answer is refused (bounded)', async () => {
    const keys = await rsaKeyPair();
    const kit = await kitWith({
      authServer: { dpop: { advertise: false }, jwtBearer: { key: keys.publicKey } },
      mcp: { dpop: { required: true } },
    });
    const client = await preRegisteredFor(kit, JWT_BEARER_GRANT);
    const session = await createSession({
      serverUrl: kit.mcpUrl,
      store: CredentialStore.memory(),
      client: {
        clientName: "jb",
        grant: {
          type: "jwt_bearer",
          assertion: () =>
            signJwt(keys.privateKey, {
              iss: "workload",
              sub: "w",
              aud: kit.issuer,
              iat: Math.floor(Date.now() / 1000),
              exp: Math.floor(Date.now() / 1000) + 300,
              jti: crypto.randomUUID(),
            }),
        },
        preRegistered: [client],
      },
    });
    cleanups.push(() => session.close());
    for (let i = 0; i < 3; i++) {
      const r = await settle(call(session, kit));
      expect(r.ok ? "ok" : r.error).toMatchObject({ _tag: "DpopBindingMismatch" });
    }
    const reqs = tokenRequests(kit);
    expect(reqs.length).toBeGreaterThan(0);
    expect(reqs.every(([g, proved]) => g === JWT_BEARER_GRANT && proved)).toBe(true);
    // Bounded: a handful of token requests for three calls, not a loop.
    expect(reqs.length).toBeLessThanOrEqual(6);
    // The Bearer token never reached the resource.
    expect(kit.requests.filter((r) => r.kind === "mcp" && r.status === 200)).toEqual([]);
  }, 60_000);

  const crossApp = async (dpop?: DpopPolicy) => {
    const keys = await rsaKeyPair();
    const idp = await startScriptedServer();
    cleanups.push(() => idp.close());
    const kit = await kitWith({
      authServer: {
        dpop: { advertise: false },
        jwtBearer: { key: keys.publicKey, issuer: idp.origin, typ: ID_JAG_TYP },
      },
      mcp: { dpop: { required: true } },
    });
    const client = await preRegisteredFor(kit, JWT_BEARER_GRANT);
    const idpRequests: { dpop: boolean; body: string }[] = [];
    // The route function is synchronous: the ID-JAG is signed ahead of time.
    const now = Math.floor(Date.now() / 1000);
    const idJag = await signJwt(
      keys.privateKey,
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
    );
    idp.route("/token", (req) => {
      idpRequests.push({ dpop: req.headers.dpop !== undefined, body: req.body });
      return {
        status: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          access_token: idJag,
          issued_token_type: TokenTypes.idJag,
          token_type: "N_A",
          expires_in: 300,
          scope: "mcp:read",
        }),
      };
    });
    const session = await createSession({
      serverUrl: kit.mcpUrl,
      store: CredentialStore.memory(),
      client: {
        clientName: "xaa",
        grant: {
          type: "cross_app_access",
          identityProvider: {
            issuer: idp.origin,
            tokenEndpoint: `${idp.origin}/token`,
            clientId: "idp-client",
            tokenEndpointAuthMethod: "none",
          },
          idToken: () => "the-users-id-token",
        },
        preRegistered: [client],
      },
      http: { allowInsecureLoopback: true },
      ...(dpop === undefined ? {} : { dpop }),
    });
    cleanups.push(() => session.close());
    return { kit, session, idpRequests };
  };

  it('cross-app "auto": no proof to the IdP; the JWT bearer grant at the AS carries one, and its Bearer answer is refused, never used', async () => {
    const { kit, session, idpRequests } = await crossApp();
    const r = await settle(call(session, kit));
    // testkit's JWT bearer grant answers Bearer even after a proof (RFC 9449 §5 lets it): a
    // token this resource would refuse, so it is refused here, typed.
    expect(r.ok ? (r.value as Response).status : (r.error as { _tag: string })._tag).toBe(
      "DpopBindingMismatch",
    );
    expect(kit.requests.filter((q) => q.kind === "mcp").map((q) => q.status)).toEqual([401]);
    expect(idpRequests.length).toBeGreaterThan(0);
    expect(idpRequests.every((q) => !q.dpop)).toBe(true);
    const reqs = tokenRequests(kit);
    expect(reqs.length).toBeGreaterThan(0);
    expect(reqs.every(([g, proved]) => g === JWT_BEARER_GRANT && proved)).toBe(true);
  }, 60_000);

  it('cross-app "off": DpopRequiredByResource — and the user\'s ID token is not sent to the IdP for an ID-JAG that could never be used', async () => {
    const { kit, session, idpRequests } = await crossApp("off");
    for (let i = 0; i < 3; i++) {
      const r = await settle(call(session, kit));
      expect(r.ok ? "ok" : r.error).toMatchObject({ _tag: "DpopRequiredByResource" });
    }
    expect(tokenRequests(kit)).toEqual([]);
    // As in authorize and requestDeviceCode, the check comes before the IdP exchange.
    expect(idpRequests).toEqual([]);
  }, 60_000);
});
