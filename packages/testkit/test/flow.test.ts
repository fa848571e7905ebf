import { afterEach, describe, expect, it } from "vitest";
import { startTestkit, type Testkit, type TestkitOptions } from "../src/index.js";
import {
  authorizationRequest,
  INITIALIZE_PARAMS,
  json,
  mcpCall,
  metadata,
  obtainTokens,
  REDIRECT_URI,
  register,
  type TokenResponse,
  tokenRequest,
} from "./helpers.js";

let kit: Testkit | undefined;

async function start(options?: TestkitOptions): Promise<Testkit> {
  kit = await startTestkit(options);
  return kit;
}

afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

function decodeJwtPayload(token: string): Record<string, unknown> {
  const [, payload = ""] = token.split(".");
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
}

describe("the full authorization code flow", () => {
  it("registers, authorizes with PKCE + resource + state, redeems the code and calls a tool", async () => {
    const kit = await start();
    const registration = await register(kit);
    expect(registration.status).toBe(201);
    expect(registration.body.client_id).toEqual(expect.any(String));
    expect(registration.body.scope).toBe("mcp:read mcp:write");
    expect(registration.body.token_endpoint_auth_method).toBe("none");

    const request = await authorizationRequest(
      kit,
      registration.body.client_id,
      "mcp:read mcp:write",
    );
    const redirect = new URL(await kit.user.authorize(request.url));
    expect(kit.user.authorizations).toBe(1);
    expect(`${redirect.origin}${redirect.pathname}`).toBe(REDIRECT_URI);
    expect(redirect.searchParams.get("state")).toBe(request.state);
    expect(redirect.searchParams.get("iss")).toBe(kit.issuer);
    const code = redirect.searchParams.get("code");
    expect(code).toEqual(expect.any(String));

    const tokenResponse = await tokenRequest(kit, {
      grant_type: "authorization_code",
      code: code ?? "",
      code_verifier: request.verifier,
      redirect_uri: request.redirectUri,
      client_id: registration.body.client_id,
      resource: kit.mcpUrl,
    });
    expect(tokenResponse.status).toBe(200);
    const tokens = await json<TokenResponse>(tokenResponse);
    expect(tokens.token_type).toBe("Bearer");
    expect(tokens.scope).toBe("mcp:read mcp:write");
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.expires_in).toBeGreaterThan(3500);
    const claims = decodeJwtPayload(tokens.access_token);
    expect(claims.aud).toBe(kit.mcpUrl);
    expect(claims.iss).toBe(kit.issuer);
    expect(claims.scope).toBe("mcp:read mcp:write");

    const init = await mcpCall(kit, tokens.access_token, "initialize", INITIALIZE_PARAMS);
    expect(init.status).toBe(200);
    const initBody = await json<{ result: { serverInfo: { name: string } } }>(init);
    expect(initBody.result.serverInfo.name).toBe("authchart-testkit");

    const list = await mcpCall(kit, tokens.access_token, "tools/list");
    expect(list.status).toBe(200);
    const listBody = await json<{ result: { tools: { name: string }[] } }>(list);
    expect(listBody.result.tools.map((t) => t.name)).toEqual([
      "echo",
      "write-note",
      "admin-report",
    ]);

    const call = await mcpCall(kit, tokens.access_token, "tools/call", {
      name: "echo",
      arguments: { text: "hello through OAuth" },
    });
    expect(call.status).toBe(200);
    const callBody = await json<{ result: { content: { type: string; text: string }[] } }>(call);
    expect(callBody.result.content[0]?.text).toBe("hello through OAuth");

    const note = await mcpCall(kit, tokens.access_token, "tools/call", {
      name: "write-note",
      arguments: { text: "n" },
    });
    expect(note.status).toBe(200);

    // The log saw each step, classified, without queries.
    expect(kit.count("as-metadata")).toBeGreaterThan(0);
    expect(kit.count("registration", { status: 201 })).toBe(1);
    expect(kit.count("authorization")).toBe(1);
    expect(kit.count("interaction")).toBeGreaterThan(0);
    expect(kit.count("token", { grantType: "authorization_code", status: 200 })).toBe(1);
    expect(kit.count("mcp", { status: 200 })).toBe(4);
    expect(kit.requests.every((r) => !r.path.includes("?"))).toBe(true);
    kit.clearLog();
    expect(kit.requests).toHaveLength(0);
  });

  it("answers 403 insufficient_scope for a tool outside the granted scope", async () => {
    const kit = await start();
    const { tokens } = await obtainTokens(kit, "mcp:read");
    expect(tokens.scope).toBe("mcp:read");
    const response = await mcpCall(kit, tokens.access_token, "tools/call", {
      name: "admin-report",
      arguments: {},
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer error="insufficient_scope", scope="mcp:admin", resource_metadata="${kit.mcpOrigin}/.well-known/oauth-protected-resource/mcp"`,
    );
    // initialize and tools/list need only a valid token.
    expect((await mcpCall(kit, tokens.access_token, "tools/list")).status).toBe(200);
  });

  it("rotates refresh tokens: the new one works, the old one is invalid_grant", async () => {
    const kit = await start();
    const { client, tokens } = await obtainTokens(kit);
    const first = tokens.refresh_token ?? "";
    const refreshed = await tokenRequest(kit, {
      grant_type: "refresh_token",
      refresh_token: first,
      client_id: client.client_id,
      resource: kit.mcpUrl,
    });
    expect(refreshed.status).toBe(200);
    const next = await json<TokenResponse>(refreshed);
    expect(next.refresh_token).toEqual(expect.any(String));
    expect(next.refresh_token).not.toBe(first);
    expect(next.scope).toBe("mcp:read mcp:write");
    expect(decodeJwtPayload(next.access_token).aud).toBe(kit.mcpUrl);
    expect(
      (
        await mcpCall(kit, next.access_token, "tools/call", {
          name: "echo",
          arguments: { text: "x" },
        })
      ).status,
    ).toBe(200);

    const reused = await tokenRequest(kit, {
      grant_type: "refresh_token",
      refresh_token: first,
      client_id: client.client_id,
      resource: kit.mcpUrl,
    });
    expect(reused.status).toBe(400);
    expect((await json<{ error: string }>(reused)).error).toBe("invalid_grant");
    expect(kit.count("token", { grantType: "refresh_token" })).toBe(2);

    // Reuse detection revoked the whole grant: the rotated token and its access token are dead too.
    const afterReuse = await tokenRequest(kit, {
      grant_type: "refresh_token",
      refresh_token: next.refresh_token ?? "",
      client_id: client.client_id,
      resource: kit.mcpUrl,
    });
    expect((await json<{ error: string }>(afterReuse)).error).toBe("invalid_grant");
    expect((await mcpCall(kit, next.access_token, "tools/list")).status).toBe(401);
  });

  it("detects concurrent use of one refresh token: one wins, the other is invalid_grant", async () => {
    const kit = await start();
    const { client, tokens } = await obtainTokens(kit);
    const refresh = () =>
      tokenRequest(kit, {
        grant_type: "refresh_token",
        refresh_token: tokens.refresh_token ?? "",
        client_id: client.client_id,
        resource: kit.mcpUrl,
      });
    const statuses = (await Promise.all([refresh(), refresh()])).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 400]);
  });

  it("an authorization without scope gets the registered scope, else the default scopes", async () => {
    const kit = await start({ authServer: { defaultScopes: ["mcp:read"] } });
    const redeem = async (clientScope: string | undefined) => {
      const { body: client } = await register(kit, { scope: clientScope });
      const request = await authorizationRequest(kit, client.client_id, undefined);
      const code = new URL(await kit.user.authorize(request.url)).searchParams.get("code") ?? "";
      const response = await tokenRequest(kit, {
        grant_type: "authorization_code",
        code,
        code_verifier: request.verifier,
        redirect_uri: request.redirectUri,
        client_id: client.client_id,
        resource: kit.mcpUrl,
      });
      expect(response.status).toBe(200);
      return json<TokenResponse>(response);
    };
    expect((await redeem("mcp:write")).scope).toBe("mcp:write");
    const tokens = await redeem(undefined);
    expect(tokens.scope).toBe("mcp:read");
    const call = await mcpCall(kit, tokens.access_token, "tools/call", { name: "echo" });
    expect(call.status).toBe(200);
  });

  it("ends in access_denied when nothing would be granted (only unknown or declined scopes)", async () => {
    const kit = await start({ user: { grant: "all-but", decline: ["mcp:read"] } });
    const { body: client } = await register(kit);
    for (const scope of ["unknown:scope", "mcp:read"]) {
      const request = await authorizationRequest(kit, client.client_id, scope);
      const redirect = new URL(await kit.user.authorize(request.url));
      expect(redirect.searchParams.get("error")).toBe("access_denied");
    }
  });

  it("does not rotate when refreshTokenRotation is false, and issues none when told not to", async () => {
    const kit = await start({ authServer: { refreshTokenRotation: false } });
    const { client, tokens } = await obtainTokens(kit);
    for (let i = 0; i < 2; i++) {
      const response = await tokenRequest(kit, {
        grant_type: "refresh_token",
        refresh_token: tokens.refresh_token ?? "",
        client_id: client.client_id,
        resource: kit.mcpUrl,
      });
      expect(response.status).toBe(200);
      // oidc-provider hands the same refresh token back.
      expect((await json<TokenResponse>(response)).refresh_token).toBe(tokens.refresh_token);
    }
    await kit.close();

    const noRefresh = await start({ authServer: { issueRefreshTokens: false } });
    const issued = await obtainTokens(noRefresh);
    expect(issued.tokens.refresh_token).toBeUndefined();
  });

  it("issues no refresh token to a client without the refresh_token grant", async () => {
    const kit = await start();
    const { body: client } = await register(kit, { grant_types: ["authorization_code"] });
    const request = await authorizationRequest(kit, client.client_id, "mcp:read");
    const code = new URL(await kit.user.authorize(request.url)).searchParams.get("code") ?? "";
    const response = await tokenRequest(kit, {
      grant_type: "authorization_code",
      code,
      code_verifier: request.verifier,
      redirect_uri: request.redirectUri,
      client_id: client.client_id,
      resource: kit.mcpUrl,
    });
    expect(response.status).toBe(200);
    expect((await json<TokenResponse>(response)).refresh_token).toBeUndefined();
  });

  it("makes existing access tokens invalid_token after expireAccessTokens()", async () => {
    const kit = await start();
    const { client, tokens } = await obtainTokens(kit);
    expect((await mcpCall(kit, tokens.access_token, "tools/list")).status).toBe(200);
    kit.expireAccessTokens();
    const rejected = await mcpCall(kit, tokens.access_token, "tools/list");
    expect(rejected.status).toBe(401);
    expect(rejected.headers.get("www-authenticate")).toMatch(/^Bearer error="invalid_token", /);
    // A refreshed token is new, so it works again.
    const refreshed = await tokenRequest(kit, {
      grant_type: "refresh_token",
      refresh_token: tokens.refresh_token ?? "",
      client_id: client.client_id,
      resource: kit.mcpUrl,
    });
    const next = await json<TokenResponse>(refreshed);
    expect((await mcpCall(kit, next.access_token, "tools/list")).status).toBe(200);
    expect(kit.issuedAccessTokens).toBe(2);
  });

  it("expires access tokens after accessTokenTtlSeconds", async () => {
    const kit = await start({ authServer: { accessTokenTtlSeconds: 1 } });
    const { tokens } = await obtainTokens(kit);
    expect(tokens.expires_in).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const response = await mcpCall(kit, tokens.access_token, "tools/list");
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain(
      'error_description="the access token expired"',
    );
  });
});

describe("the headless user", () => {
  it("declines scopes under the all-but policy: the token carries the reduced set", async () => {
    const kit = await start({ user: { grant: "all-but", decline: ["mcp:write"] } });
    const { tokens } = await obtainTokens(kit, "mcp:read mcp:write");
    expect(tokens.scope).toBe("mcp:read");
    expect(decodeJwtPayload(tokens.access_token).scope).toBe("mcp:read");
    const response = await mcpCall(kit, tokens.access_token, "tools/call", {
      name: "write-note",
      arguments: {},
    });
    expect(response.status).toBe(403);

    // Switching the policy lets the next authorization get everything.
    kit.user.policy = { grant: "all" };
    const again = await obtainTokens(kit, "mcp:read mcp:write");
    expect(again.tokens.scope).toBe("mcp:read mcp:write");
    expect(kit.user.authorizations).toBe(2);
  });

  it("denies: the redirect carries error=access_denied, state and iss", async () => {
    const kit = await start({ user: { grant: "deny" } });
    const { body: client } = await register(kit);
    const request = await authorizationRequest(kit, client.client_id, "mcp:read");
    const redirect = new URL(await kit.user.authorize(request.url));
    expect(redirect.searchParams.get("error")).toBe("access_denied");
    expect(redirect.searchParams.get("state")).toBe(request.state);
    expect(redirect.searchParams.get("iss")).toBe(kit.issuer);
    expect(redirect.searchParams.get("code")).toBeNull();
    expect(kit.user.authorizations).toBe(1);
  });

  it("keeps its login session: a second flow only asks for consent", async () => {
    const kit = await start();
    await obtainTokens(kit);
    kit.clearLog();
    await obtainTokens(kit);
    const interactions = kit.requests.filter((r) => r.kind === "interaction");
    expect(interactions.some((r) => r.path.endsWith("/login"))).toBe(false);
    expect(interactions.some((r) => r.path.endsWith("/confirm"))).toBe(true);
    kit.user.resetSession();
    kit.clearLog();
    await obtainTokens(kit);
    expect(kit.requests.some((r) => r.path.endsWith("/login"))).toBe(true);
  });
});

describe("authorization server knobs", () => {
  it("requireScopeOnRegistration rejects a registration without scope", async () => {
    const kit = await start({ authServer: { requireScopeOnRegistration: true } });
    const rejected = await register(kit, { scope: undefined });
    expect(rejected.status).toBe(400);
    expect(rejected.body.error).toBe("invalid_client_metadata");
    const accepted = await register(kit, { scope: "mcp:read" });
    expect(accepted.status).toBe(201);
    expect(accepted.body.scope).toBe("mcp:read");
  });

  it("accepts registrations without scope by default, and a registered scope does not limit later requests", async () => {
    const kit = await start();
    const { status, body: client } = await register(kit, { scope: "mcp:read" });
    expect(status).toBe(201);
    const request = await authorizationRequest(kit, client.client_id, "mcp:read mcp:admin");
    const code = new URL(await kit.user.authorize(request.url)).searchParams.get("code");
    expect(code).toEqual(expect.any(String));
    expect((await register(kit, { scope: undefined })).status).toBe(201);
  });

  it("rejectScopes ends the authorization in error=invalid_scope at the redirect", async () => {
    const kit = await start({ authServer: { rejectScopes: ["mcp:admin"] } });
    const { body: client } = await register(kit);
    const request = await authorizationRequest(kit, client.client_id, "mcp:read mcp:admin");
    const redirect = new URL(await kit.user.authorize(request.url));
    expect(redirect.searchParams.get("error")).toBe("invalid_scope");
    expect(redirect.searchParams.get("state")).toBe(request.state);
    expect(redirect.searchParams.get("iss")).toBe(kit.issuer);
  });

  it("drops unknown scopes silently: the flow succeeds and the token lacks them", async () => {
    const kit = await start();
    const { tokens } = await obtainTokens(kit, "mcp:read unknown:scope");
    expect(tokens.scope).toBe("mcp:read");
  });

  it("accepts any loopback port for native clients (RFC 8252 §7.3)", async () => {
    const kit = await start();
    const { body: client } = await register(kit);
    const request = await authorizationRequest(kit, client.client_id, "mcp:read", {
      redirect_uri: "http://127.0.0.1:54321/callback",
    });
    const redirect = new URL(await kit.user.authorize(request.url));
    expect(redirect.port).toBe("54321");
    expect(redirect.searchParams.get("code")).toEqual(expect.any(String));
  });

  it("requires PKCE for every client", async () => {
    const kit = await start();
    const { body: client } = await register(kit);
    const request = await authorizationRequest(kit, client.client_id, "mcp:read");
    const url = new URL(request.url);
    url.searchParams.delete("code_challenge");
    url.searchParams.delete("code_challenge_method");
    const redirect = new URL(await kit.user.authorize(url.href));
    expect(redirect.searchParams.get("error")).toBe("invalid_request");
  });

  it("supports confidential clients with client_secret_basic and client_secret_post", async () => {
    const kit = await start();
    for (const method of ["client_secret_basic", "client_secret_post"] as const) {
      const { status, body: client } = await register(kit, { token_endpoint_auth_method: method });
      expect(status).toBe(201);
      const secret = client.client_secret ?? "";
      expect(secret).not.toBe("");
      const request = await authorizationRequest(kit, client.client_id, "mcp:read");
      const code = new URL(await kit.user.authorize(request.url)).searchParams.get("code") ?? "";
      const params = {
        grant_type: "authorization_code",
        code,
        code_verifier: request.verifier,
        redirect_uri: request.redirectUri,
        resource: kit.mcpUrl,
      };
      const response =
        method === "client_secret_basic"
          ? await tokenRequest(kit, params, { id: client.client_id, secret })
          : await tokenRequest(kit, {
              ...params,
              client_id: client.client_id,
              client_secret: secret,
            });
      expect(response.status).toBe(200);
    }
  });

  it("answers invalid_target for a resource other than the MCP URL", async () => {
    const kit = await start();
    const { body: client } = await register(kit);
    const request = await authorizationRequest(kit, client.client_id, "mcp:read", {
      resource: `${kit.mcpUrl}/`,
    });
    const redirect = new URL(await kit.user.authorize(request.url));
    expect(redirect.searchParams.get("error")).toBe("invalid_target");
  });

  it("serves metadata with PKCE, iss support and the advertised scopes", async () => {
    const kit = await start({ authServer: { scopesSupported: ["mcp:read", "extra"] } });
    const meta = await metadata(kit);
    expect(meta.issuer).toBe(kit.issuer);
    expect(meta.code_challenge_methods_supported).toEqual(["S256"]);
    expect(meta.authorization_response_iss_parameter_supported).toBe(true);
    expect(meta.scopes_supported).toEqual(["mcp:read", "extra"]);
    expect(meta.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(["none", "client_secret_basic", "client_secret_post"]),
    );
  });
});
