import { afterEach, describe, expect, it } from "vitest";
import { startTestkit, type Testkit, type TestkitOptions } from "../src/index.js";
import { mcpCall } from "./helpers.js";

let kit: Testkit | undefined;

async function start(options?: TestkitOptions): Promise<Testkit> {
  kit = await startTestkit(options);
  return kit;
}

afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

async function status(url: string): Promise<number> {
  const response = await fetch(url);
  await response.body?.cancel();
  return response.status;
}

describe("protected resource metadata (RFC 9728)", () => {
  it("is served at the path-aware and the root URL by default", async () => {
    const kit = await start();
    expect(kit.mcpUrl).toBe(`${kit.mcpOrigin}/mcp`);
    for (const path of [
      "/.well-known/oauth-protected-resource/mcp",
      "/.well-known/oauth-protected-resource",
    ]) {
      const response = await fetch(`${kit.mcpOrigin}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({
        resource: kit.mcpUrl,
        authorization_servers: [kit.issuer],
        scopes_supported: ["mcp:read", "mcp:write", "mcp:admin"],
        bearer_methods_supported: ["header"],
      });
    }
    expect(kit.count("prm", { status: 200 })).toBe(2);
  });

  it("honours prmLocation, scopesSupported, prmResource and a custom path", async () => {
    const pathAware = await start({ mcp: { prmLocation: "path-aware", scopesSupported: "omit" } });
    expect(await status(`${pathAware.mcpOrigin}/.well-known/oauth-protected-resource/mcp`)).toBe(
      200,
    );
    expect(await status(`${pathAware.mcpOrigin}/.well-known/oauth-protected-resource`)).toBe(404);
    const body = (await (
      await fetch(`${pathAware.mcpOrigin}/.well-known/oauth-protected-resource/mcp`)
    ).json()) as Record<string, unknown>;
    expect(body).not.toHaveProperty("scopes_supported");
    await pathAware.close();

    const root = await start({
      mcp: {
        prmLocation: "root",
        path: "/v1/mcp",
        scopesSupported: ["a"],
        prmResource: "https://elsewhere.example/mcp",
      },
    });
    expect(root.mcpUrl).toBe(`${root.mcpOrigin}/v1/mcp`);
    expect(await status(`${root.mcpOrigin}/.well-known/oauth-protected-resource/v1/mcp`)).toBe(404);
    const rootBody = (await (
      await fetch(`${root.mcpOrigin}/.well-known/oauth-protected-resource`)
    ).json()) as Record<string, unknown>;
    expect(rootBody.scopes_supported).toEqual(["a"]);
    expect(rootBody.resource).toBe("https://elsewhere.example/mcp");
    const challenge = (await mcpCall(root, undefined, "initialize")).headers.get(
      "www-authenticate",
    );
    expect(challenge).toContain(
      `resource_metadata="${root.mcpOrigin}/.well-known/oauth-protected-resource"`,
    );
  });
});

describe("401 challenges", () => {
  it("default: Bearer with the path-aware resource_metadata and all tool scopes", async () => {
    const kit = await start();
    const response = await mcpCall(kit, undefined, "initialize");
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer resource_metadata="${kit.mcpOrigin}/.well-known/oauth-protected-resource/mcp", scope="mcp:read mcp:write mcp:admin"`,
    );
    expect(kit.count("mcp", { status: 401 })).toBe(1);
  });

  it("without resource_metadata and without scope", async () => {
    const kit = await start({
      mcp: { resourceMetadataInChallenge: false, challengeScope: "none" },
    });
    const response = await mcpCall(kit, undefined, "initialize");
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
  });

  it("with a chosen scope and several schemes, on one line or two", async () => {
    const oneLine = await start({
      mcp: { challengeScope: ["mcp:read"], challengeSchemes: "several" },
    });
    const response = await mcpCall(oneLine, undefined, "initialize");
    expect(response.headers.get("www-authenticate")).toBe(
      `Basic realm="mcp", Bearer resource_metadata="${oneLine.mcpOrigin}/.well-known/oauth-protected-resource/mcp", scope="mcp:read"`,
    );
    await oneLine.close();

    const twoLines = await start({
      mcp: {
        challengeScope: ["mcp:read"],
        challengeSchemes: "several-lines",
        resourceMetadataInChallenge: false,
      },
    });
    const second = await mcpCall(twoLines, undefined, "initialize");
    // fetch joins repeated header lines with ", ".
    expect(second.headers.get("www-authenticate")).toBe(
      'Basic realm="mcp", Bearer scope="mcp:read"',
    );
    const raw = await rawHeaderLines(twoLines.mcpUrl, "www-authenticate");
    expect(raw).toEqual(['Basic realm="mcp"', 'Bearer scope="mcp:read"']);
  });

  it("answers invalid_token for a token that is not one of the AS's", async () => {
    const kit = await start();
    for (const token of ["not-a-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "a.b.c"]) {
      const response = await mcpCall(kit, token, "initialize");
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe(
        `Bearer error="invalid_token", error_description="the access token is not valid", resource_metadata="${kit.mcpOrigin}/.well-known/oauth-protected-resource/mcp", scope="mcp:read mcp:write mcp:admin"`,
      );
    }
  });
});

/** The raw header lines of a response (fetch joins them), read with node:http. */
async function rawHeaderLines(url: string, name: string): Promise<string[]> {
  const { request } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", headers: { "content-type": "application/json" } },
      (res) => {
        const lines: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          if (res.rawHeaders[i]?.toLowerCase() === name) lines.push(res.rawHeaders[i + 1] ?? "");
        }
        res.resume();
        res.on("end", () => resolve(lines));
      },
    );
    req.on("error", reject);
    req.end("{}");
  });
}

describe("authorization server metadata", () => {
  const wellKnown = (origin: string, path: string) => [
    `${origin}/.well-known/oauth-authorization-server${path}`,
    `${origin}/.well-known/openid-configuration${path}`,
    `${origin}${path}/.well-known/openid-configuration`,
  ];

  it("an issuer without a path answers RFC 8414 and OIDC discovery at the root", async () => {
    const kit = await start();
    expect(kit.issuer).toBe(kit.authServerOrigin);
    for (const url of [
      `${kit.authServerOrigin}/.well-known/oauth-authorization-server`,
      `${kit.authServerOrigin}/.well-known/openid-configuration`,
    ]) {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body.issuer).toBe(kit.issuer);
      expect(body.registration_endpoint).toBe(`${kit.issuer}/register`);
      expect(body.authorization_endpoint).toBe(`${kit.issuer}/authorize`);
      expect(body.token_endpoint).toBe(`${kit.issuer}/token`);
      expect(body.code_challenge_methods_supported).toEqual(["S256"]);
      expect(body.authorization_response_iss_parameter_supported).toBe(true);
      expect(body.scopes_supported).toEqual([
        "mcp:read",
        "mcp:write",
        "mcp:admin",
        "offline_access",
      ]);
    }
    expect(kit.count("as-metadata", { status: 200 })).toBe(2);
  });

  it("an issuer with a path answers all three D10 URLs with endpoints under the path", async () => {
    const kit = await start({ authServer: { issuerPath: "/tenant1" } });
    expect(kit.issuer).toBe(`${kit.authServerOrigin}/tenant1`);
    for (const url of wellKnown(kit.authServerOrigin, "/tenant1")) {
      const response = await fetch(url);
      expect(response.status, url).toBe(200);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body.issuer).toBe(kit.issuer);
      expect(body.token_endpoint).toBe(`${kit.issuer}/token`);
      expect(body.jwks_uri).toBe(`${kit.issuer}/jwks`);
    }
    // The root documents of a path issuer do not exist.
    expect(await status(`${kit.authServerOrigin}/.well-known/oauth-authorization-server`)).toBe(
      404,
    );
    expect(await status(`${kit.authServerOrigin}/.well-known/openid-configuration`)).toBe(404);
  });

  it("oidc-appended-only serves only {issuer}/.well-known/openid-configuration", async () => {
    const kit = await start({ authServer: { issuerPath: "/t1", metadata: "oidc-appended-only" } });
    const [rfc8414, oidcInserted, oidcAppended] = wellKnown(kit.authServerOrigin, "/t1");
    expect(await status(rfc8414 ?? "")).toBe(404);
    expect(await status(oidcInserted ?? "")).toBe(404);
    expect(await status(oidcAppended ?? "")).toBe(200);
    expect(await status(`${kit.issuer}/.well-known/oauth-authorization-server`)).toBe(404);
    expect(kit.count("as-metadata")).toBe(1);
  });

  it("omitCodeChallengeMethods drops code_challenge_methods_supported", async () => {
    const kit = await start({ authServer: { omitCodeChallengeMethods: true } });
    const body = (await (
      await fetch(`${kit.authServerOrigin}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(body).not.toHaveProperty("code_challenge_methods_supported");
    expect(body.issuer).toBe(kit.issuer);
  });

  it("a full flow works under an issuer path", async () => {
    const { obtainTokens } = await import("./helpers.js");
    const kit = await start({ authServer: { issuerPath: "/tenant1" } });
    const { tokens, callback } = await obtainTokens(kit, "mcp:read");
    expect(callback.searchParams.get("iss")).toBe(kit.issuer);
    const response = await mcpCall(kit, tokens.access_token, "tools/call", {
      name: "echo",
      arguments: { text: "tenant" },
    });
    expect(response.status).toBe(200);
  });
});
