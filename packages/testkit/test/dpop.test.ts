/** DPoP knobs (RFC 9449): oidc-provider's features.dPoP, and the MCP server's proof checks. */
import { createHash, randomUUID } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { startTestkit, type Testkit, type TestkitOptions } from "../src/index.js";
import {
  authorizationRequest,
  INITIALIZE_PARAMS,
  json,
  metadata,
  REDIRECT_URI,
  register,
  type TokenResponse,
} from "./helpers.js";

let kit: Testkit | undefined;
afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

async function start(options?: TestkitOptions): Promise<Testkit> {
  kit = await startTestkit(options);
  return kit;
}

interface ProofKey {
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function proofKey(): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { privateKey, jwk: await exportJWK(publicKey) };
}

/** A DPoP proof (RFC 9449 §4.2) made by hand; `claims` overrides what a correct one says. */
async function proof(
  key: ProofKey,
  htm: string,
  htu: string,
  claims: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({ htm, htu, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...claims })
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: key.jwk })
    .sign(key.privateKey);
}

const ath = (token: string) => createHash("sha256").update(token).digest("base64url");

function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as Record<
    string,
    unknown
  >;
}

/** The code flow with a proof on the token request (and its one nonce retry). */
async function obtainDpopTokens(k: Testkit, key: ProofKey) {
  const meta = await metadata(k);
  const { body: client } = await register(k, { scope: "mcp:read" });
  const request = await authorizationRequest(k, client.client_id, "mcp:read");
  const code = new URL(await k.user.authorize(request.url)).searchParams.get("code") ?? "";
  const send = async (nonce?: string) =>
    fetch(meta.token_endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        dpop: await proof(key, "POST", meta.token_endpoint, nonce === undefined ? {} : { nonce }),
      },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        code_verifier: request.verifier,
        redirect_uri: REDIRECT_URI,
        client_id: client.client_id,
        resource: k.mcpUrl,
      }).toString(),
    });
  return { send, meta };
}

async function callMcp(k: Testkit, authorization: string, dpop?: string, url = k.mcpUrl) {
  return fetch(url, {
    method: "POST",
    headers: {
      authorization,
      ...(dpop === undefined ? {} : { dpop }),
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-11-25",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: INITIALIZE_PARAMS,
    }),
  });
}

describe("DPoP at the authorization server (authServer.dpop)", () => {
  it("is off by default: no dpop_signing_alg_values_supported, proofs ignored", async () => {
    const k = await start();
    expect((await metadata(k)).dpop_signing_alg_values_supported).toBeUndefined();
    const { send } = await obtainDpopTokens(k, await proofKey());
    const tokens = await json<TokenResponse>(await send());
    expect(tokens.token_type).toBe("Bearer");
    expect(payloadOf(tokens.access_token).cnf).toBeUndefined();
  });

  it("binds the token to the proof's key: token_type DPoP, cnf.jkt; the log marks proofs", async () => {
    const k = await start({ authServer: { dpop: true } });
    expect((await metadata(k)).dpop_signing_alg_values_supported).toEqual([
      "ES256",
      "Ed25519",
      "EdDSA",
    ]);
    const key = await proofKey();
    const { send } = await obtainDpopTokens(k, key);
    const response = await send();
    expect(response.status).toBe(200);
    const tokens = await json<TokenResponse>(response);
    expect(tokens.token_type).toBe("DPoP");
    expect(payloadOf(tokens.access_token).cnf).toEqual({
      jkt: await calculateJwkThumbprint(key.jwk),
    });
    expect(k.requests.filter((r) => r.kind === "token").map((r) => r.dpop)).toEqual([true]);
    expect(k.requests.find((r) => r.kind === "registration")?.dpop).toBeUndefined();
  });

  it("requireNonce: 400 use_dpop_nonce with DPoP-Nonce, then the nonce is accepted", async () => {
    const k = await start({ authServer: { dpop: { requireNonce: true, algorithms: ["ES256"] } } });
    expect((await metadata(k)).dpop_signing_alg_values_supported).toEqual(["ES256"]);
    const { send } = await obtainDpopTokens(k, await proofKey());
    const first = await send();
    expect(first.status).toBe(400);
    expect((await json<{ error: string }>(first)).error).toBe("use_dpop_nonce");
    const nonce = first.headers.get("dpop-nonce");
    expect(nonce).toEqual(expect.any(String));
    const second = await send(nonce ?? "");
    expect(second.status).toBe(200);
    expect((await json<TokenResponse>(second)).token_type).toBe("DPoP");
  });
});

describe("DPoP at the MCP server", () => {
  const bound = async (options: TestkitOptions) => {
    const k = await start(options);
    const key = await proofKey();
    const { send } = await obtainDpopTokens(k, key);
    const tokens = await json<TokenResponse>(await send());
    expect(tokens.token_type).toBe("DPoP");
    return { k, key, token: tokens.access_token };
  };

  it("accepts a DPoP-bound token only as DPoP with a valid proof of its key", async () => {
    const { k, key, token } = await bound({ authServer: { dpop: true } });
    const good = () => proof(key, "POST", k.mcpUrl, { ath: ath(token) });
    expect((await callMcp(k, `DPoP ${token}`, await good())).status).toBe(200);
    // The query is not part of htu (RFC 9449 §4.3).
    expect((await callMcp(k, `DPoP ${token}`, await good(), `${k.mcpUrl}?x=1`)).status).not.toBe(
      401,
    );

    const refusal = async (authorization: string, dpop?: string) => {
      const response = await callMcp(k, authorization, dpop);
      return { status: response.status, challenge: response.headers.get("www-authenticate") };
    };
    // As Bearer: refused, even with a proof.
    expect(await refusal(`Bearer ${token}`)).toMatchObject({
      status: 401,
      challenge: expect.stringMatching(/^DPoP error="invalid_token"/),
    });
    expect((await refusal(`Bearer ${token}`, await good())).status).toBe(401);
    const invalidProof = {
      status: 401,
      challenge: expect.stringMatching(/^DPoP error="invalid_dpop_proof"/),
    };
    // No proof; wrong htm, htu, ath; stale iat; a private jwk; a replayed proof.
    expect(await refusal(`DPoP ${token}`)).toMatchObject(invalidProof);
    for (const claims of [
      { htm: "GET" },
      { htu: `${k.mcpOrigin}/other` },
      { ath: ath("another-token") },
      { iat: Math.floor(Date.now() / 1000) - 3600 },
    ]) {
      const forged = await proof(key, "POST", k.mcpUrl, { ath: ath(token), ...claims });
      expect(await refusal(`DPoP ${token}`, forged)).toMatchObject(invalidProof);
    }
    const once = await good();
    expect((await refusal(`DPoP ${token}`, once)).status).toBe(200);
    expect(await refusal(`DPoP ${token}`, once)).toMatchObject(invalidProof);
    // Another key: its thumbprint is not cnf.jkt.
    const stranger = await proofKey();
    const foreign = await proof(stranger, "POST", k.mcpUrl, { ath: ath(token) });
    expect(await refusal(`DPoP ${token}`, foreign)).toMatchObject({
      status: 401,
      challenge: expect.stringMatching(/^DPoP error="invalid_token"/),
    });
  });

  it("requireNonce: 401 use_dpop_nonce with DPoP-Nonce; a rotated nonce is asked again", async () => {
    const { k, key, token } = await bound({
      authServer: { dpop: true },
      mcp: { dpop: { requireNonce: true } },
    });
    const first = await callMcp(
      k,
      `DPoP ${token}`,
      await proof(key, "POST", k.mcpUrl, { ath: ath(token) }),
    );
    expect(first.status).toBe(401);
    expect(first.headers.get("www-authenticate")).toMatch(/^DPoP error="use_dpop_nonce"/);
    const nonce = first.headers.get("dpop-nonce") ?? "";
    expect(nonce).not.toBe("");
    const withNonce = () => proof(key, "POST", k.mcpUrl, { ath: ath(token), nonce });
    expect((await callMcp(k, `DPoP ${token}`, await withNonce())).status).toBe(200);
    k.rotateDpopNonce();
    const stale = await callMcp(k, `DPoP ${token}`, await withNonce());
    expect(stale.status).toBe(401);
    expect(stale.headers.get("dpop-nonce")).not.toBe(nonce);
  });

  it("mcp.dpop: a DPoP challenge and PRM members; required: Bearer tokens are refused", async () => {
    const k = await start({ mcp: { dpop: { required: true, algorithms: ["ES256"] } } });
    const prm = await json<Record<string, unknown>>(
      await fetch(`${k.mcpOrigin}/.well-known/oauth-protected-resource/mcp`),
    );
    expect(prm).toMatchObject({
      dpop_signing_alg_values_supported: ["ES256"],
      dpop_bound_access_tokens_required: true,
    });
    const anonymous = await callMcp(k, "Bearer x.y.z");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^DPoP error="invalid_token"/);
    const none = await fetch(k.mcpUrl, { method: "POST" });
    expect(none.headers.get("www-authenticate")).toMatch(/^DPoP resource_metadata=.*algs="ES256"$/);

    // Not required: Bearer first, a bare DPoP challenge after it.
    await k.close();
    const offered = await start({ mcp: { dpop: true } });
    const challenge = (await fetch(offered.mcpUrl, { method: "POST" })).headers.get(
      "www-authenticate",
    );
    expect(challenge).toMatch(
      /^Bearer resource_metadata=.*, DPoP algs="ES256 Ed25519 EdDSA PS256 RS256"$/,
    );
  });

  it("a Bearer token presented as DPoP is refused", async () => {
    const k = await start({ authServer: { dpop: true } });
    const meta = await metadata(k);
    const { body: client } = await register(k, { scope: "mcp:read" });
    const request = await authorizationRequest(k, client.client_id, "mcp:read");
    const code = new URL(await k.user.authorize(request.url)).searchParams.get("code") ?? "";
    const response = await fetch(meta.token_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        code_verifier: request.verifier,
        redirect_uri: REDIRECT_URI,
        client_id: client.client_id,
        resource: k.mcpUrl,
      }).toString(),
    });
    const tokens = await json<TokenResponse>(response);
    expect(tokens.token_type).toBe("Bearer");
    const key = await proofKey();
    const presented = await callMcp(
      k,
      `DPoP ${tokens.access_token}`,
      await proof(key, "POST", k.mcpUrl, { ath: ath(tokens.access_token) }),
    );
    expect(presented.status).toBe(401);
    expect((await callMcp(k, `Bearer ${tokens.access_token}`)).status).toBe(200);
  });
});
