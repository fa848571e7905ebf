/**
 * Every grant behind the same `obtaining`, end to end: a session configured for the grant, the
 * real authorization server (oidc-provider through testkit) and the MCP SDK server. Which grant
 * runs is the client configuration's, named in the trace; a credential the grant lacks is an
 * InvalidClientConfiguration when the session is created.
 */
import { createSession, type Session, type SessionOptions, type TraceEntry } from "@authchart/core";
import {
  startScriptedServer,
  startTestkit,
  type Testkit,
  type TestkitOptions,
} from "@authchart/testkit";
import { Redacted } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { callTool, redirectUri } from "./support.js";

const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code";
const ID_JAG_TYP = "oauth-id-jag+jwt";

let kit: Testkit | undefined;
let session: Session | undefined;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await session?.close();
  await kit?.close();
  for (const close of closers.splice(0)) await close();
  session = undefined;
  kit = undefined;
});

const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
const signJwt = async (
  key: CryptoKey,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
) => {
  const head = base64url(
    new TextEncoder().encode(JSON.stringify({ alg: "RS256", typ: "JWT", ...header })),
  );
  const body = base64url(new TextEncoder().encode(JSON.stringify(payload)));
  const signature = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    key,
    new TextEncoder().encode(`${head}.${body}`),
  );
  return `${head}.${body}.${base64url(new Uint8Array(signature))}`;
};
const rsaKeyPair = () =>
  crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  ) as Promise<CryptoKeyPair>;

const start = async (
  options: TestkitOptions,
  client: SessionOptions["client"],
  extra: Partial<SessionOptions> = {},
) => {
  const k = await startTestkit(options);
  kit = k;
  const s = await createSession({ serverUrl: k.mcpUrl, client, ...extra });
  session = s;
  const trace: TraceEntry[] = [];
  s.onTrace((entry) => trace.push(entry));
  return { k, s, trace };
};

const base = { clientName: "authchart e2e", redirectUris: [redirectUri] as [string] };
const tokenRequests = (k: Testkit, grantType?: string) =>
  k.requests.filter(
    (r) => r.kind === "token" && (grantType === undefined || r.grantType === grantType),
  ).length;
const authorizationRequests = (k: Testkit) =>
  k.requests.filter((r) => r.kind === "authorization").length;

/**
 * A session of the client_credentials grant against a testkit started with `options`: a client
 * registered for the grant and configured as pre-registered (with its issuer).
 */
const clientCredentialsSession = async (
  options: TestkitOptions,
  method: "client_secret_basic" | "client_secret_post" = "client_secret_basic",
  metadata: Record<string, unknown> = {},
) => {
  const k = await startTestkit({
    ...options,
    authServer: { ...options.authServer, clientCredentials: true },
  });
  kit = k;
  const registered = await k.registerClient({
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: method,
    ...metadata,
  });
  const s = await createSession({
    serverUrl: k.mcpUrl,
    client: {
      ...base,
      grant: { type: "client_credentials" },
      preRegistered: [
        {
          issuer: k.issuer,
          clientId: String(registered.client_id),
          clientSecret: Redacted.make(String(registered.client_secret)),
          tokenEndpointAuthMethod: method,
        },
      ],
    },
  });
  session = s;
  const trace: TraceEntry[] = [];
  s.onTrace((entry) => trace.push(entry));
  return { k, s, trace };
};

describe("client_credentials (RFC 6749 §4.4)", () => {
  for (const method of ["client_secret_basic", "client_secret_post"] as const) {
    it(`a token for the client itself with ${method}: no user, no authorization request`, async () => {
      const { k, s, trace } = await clientCredentialsSession({}, method);
      expect((await callTool(s, k.mcpUrl, "echo", { text: "svc" })).status).toBe(200);
      expect(tokenRequests(k, "client_credentials")).toBe(1);
      expect(authorizationRequests(k)).toBe(0);
      expect(trace.find((t) => t.decision === "grant")?.reason).toContain("client_credentials");
      expect(s.state().token?.hasRefreshToken).toBe(false);
    });
  }

  it("a 403 insufficient_scope asks for a new token with the union of scopes, no user", async () => {
    const { k, s } = await clientCredentialsSession(
      { mcp: { challengeScope: ["mcp:read"] } },
      "client_secret_basic",
      { scope: "mcp:read mcp:write" },
    );
    expect((await callTool(s, k.mcpUrl, "echo", { text: "a" })).status).toBe(200);
    expect((await callTool(s, k.mcpUrl, "write-note", { text: "b" }, 2)).status).toBe(200);
    expect(tokenRequests(k, "client_credentials")).toBe(2);
    expect(tokenRequests(k, "refresh_token")).toBe(0);
    expect(authorizationRequests(k)).toBe(0);
    expect(s.state().token?.scopes).toEqual(expect.arrayContaining(["mcp:read", "mcp:write"]));
  });

  it("renews after every expiry, one token request each, without ever tripping the loop guard", async () => {
    const { k, s } = await clientCredentialsSession({});
    for (let i = 1; i <= 6; i++) {
      expect((await callTool(s, k.mcpUrl, "echo", { text: `call ${i}` }, i)).status).toBe(200);
      k.expireAccessTokens();
    }
    expect(tokenRequests(k, "client_credentials")).toBe(6);
  });

  it("an issuer-less pre-registered client is refused: no MCP server picks where the secret goes", async () => {
    await expect(
      createSession({
        serverUrl: "https://mcp.example.com/mcp",
        client: {
          ...base,
          grant: { type: "client_credentials" },
          preRegistered: [{ clientId: "svc", clientSecret: Redacted.make("s") }],
        },
      }),
    ).rejects.toMatchObject({ _tag: "InvalidClientConfiguration" });
  });

  it("without a confidential client: InvalidClientConfiguration when the session is created", async () => {
    await expect(
      createSession({
        serverUrl: "https://mcp.example.com/mcp",
        client: { ...base, grant: { type: "client_credentials" } },
      }),
    ).rejects.toMatchObject({ _tag: "InvalidClientConfiguration" });
  });
});

describe("JWT bearer with a workload identity token (RFC 7523 §2.1, SEP-1933)", () => {
  const workload = async () => {
    const keys = await rsaKeyPair();
    const k = await startTestkit({
      authServer: { jwtBearer: { key: keys.publicKey, issuer: "https://workload.example" } },
    });
    kit = k;
    const registered = await k.registerClient({
      grant_types: [JWT_BEARER],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "none",
    });
    const assertion = (aud: string) => {
      const now = Math.floor(Date.now() / 1000);
      return signJwt(keys.privateKey, {
        iss: "https://workload.example",
        sub: "spiffe://example/agent",
        aud,
        iat: now,
        exp: now + 300,
        jti: crypto.randomUUID(),
      });
    };
    k.clearLog();
    return { k, clientId: String(registered.client_id), assertion };
  };

  it("one token request with the workload's assertion", async () => {
    const { k, clientId, assertion } = await workload();
    let calls = 0;
    const s = await createSession({
      serverUrl: k.mcpUrl,
      client: {
        ...base,
        grant: {
          type: "jwt_bearer",
          assertion: () => {
            calls++;
            return assertion(k.issuer);
          },
        },
        preRegistered: [{ issuer: k.issuer, clientId, tokenEndpointAuthMethod: "none" }],
      },
    });
    session = s;
    expect((await callTool(s, k.mcpUrl, "echo", { text: "wif" })).status).toBe(200);
    expect(tokenRequests(k, JWT_BEARER)).toBe(1);
    expect(calls).toBe(1);
    expect(authorizationRequests(k)).toBe(0);
  });

  it("a rejected assertion is final: one request, a typed error, no retry and no other grant", async () => {
    const { k, clientId, assertion } = await workload();
    const s = await createSession({
      serverUrl: k.mcpUrl,
      client: {
        ...base,
        grant: { type: "jwt_bearer", assertion: () => assertion("https://wrong-audience.example") },
        preRegistered: [{ issuer: k.issuer, clientId, tokenEndpointAuthMethod: "none" }],
      },
    });
    session = s;
    await expect(callTool(s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "AssertionRejected",
    });
    await expect(callTool(s, k.mcpUrl, "echo", { text: "again" }, 2)).rejects.toMatchObject({
      _tag: "AssertionRejected",
    });
    expect(tokenRequests(k)).toBe(1);
    expect(authorizationRequests(k)).toBe(0);
    expect(k.requests.filter((r) => r.kind === "registration")).toHaveLength(0);
  });

  it("an assertion the application cannot supply is a typed error that quotes nothing", async () => {
    const { k, clientId } = await workload();
    const s = await createSession({
      serverUrl: k.mcpUrl,
      client: {
        ...base,
        grant: {
          type: "jwt_bearer",
          assertion: () => {
            throw new Error("secret-file-content-xyz");
          },
        },
        preRegistered: [{ issuer: k.issuer, clientId, tokenEndpointAuthMethod: "none" }],
      },
    });
    session = s;
    const error = await callTool(s, k.mcpUrl, "echo", { text: "x" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ _tag: "AssertionUnavailable" });
    expect(String((error as Error).message)).not.toContain("secret-file-content-xyz");
    expect(tokenRequests(k)).toBe(0);
  });
});

describe("cross-app access (SEP-990): an ID-JAG from the identity provider, then JWT bearer", () => {
  it("token exchange at the IdP for this authorization server and resource, then the grant", async () => {
    const idpKeys = await rsaKeyPair();
    const idp = await startScriptedServer();
    closers.push(() => idp.close());
    const k = await startTestkit({
      authServer: { jwtBearer: { key: idpKeys.publicKey, issuer: idp.origin, typ: ID_JAG_TYP } },
    });
    kit = k;
    const registered = await k.registerClient({
      grant_types: [JWT_BEARER],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_basic",
    });
    const clientId = String(registered.client_id);
    const now = Math.floor(Date.now() / 1000);
    const idJag = await signJwt(
      idpKeys.privateKey,
      {
        iss: idp.origin,
        sub: "alice@example.com",
        aud: k.issuer,
        client_id: clientId,
        resource: k.mcpUrl,
        scope: "mcp:read",
        iat: now,
        exp: now + 300,
        jti: crypto.randomUUID(),
      },
      { typ: ID_JAG_TYP },
    );
    let exchange: URLSearchParams | undefined;
    idp.route("/token", (req) => {
      exchange = new URLSearchParams(String(req.body));
      return {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          access_token: idJag,
          issued_token_type: "urn:ietf:params:oauth:token-type:id-jag",
          token_type: "N_A",
          expires_in: 300,
          scope: "mcp:read",
        }),
      };
    });
    const s = await createSession({
      serverUrl: k.mcpUrl,
      client: {
        ...base,
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
        preRegistered: [
          {
            issuer: k.issuer,
            clientId,
            clientSecret: Redacted.make(String(registered.client_secret)),
          },
        ],
      },
    });
    session = s;
    expect((await callTool(s, k.mcpUrl, "echo", { text: "xaa" })).status).toBe(200);
    expect(exchange?.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:token-exchange");
    expect(exchange?.get("audience")).toBe(k.issuer);
    expect(exchange?.get("resource")).toBe(k.mcpUrl);
    expect(exchange?.get("subject_token")).toBe("the-users-id-token");
    expect(tokenRequests(k, JWT_BEARER)).toBe(1);
    expect(authorizationRequests(k)).toBe(0);
  });
});

describe("device authorization (RFC 8628) for a user on another device", () => {
  it("the user code goes to the presenter; polling ends with a token", async () => {
    const prompts: string[] = [];
    const { k, s, trace } = await start(
      { authServer: { deviceFlow: { interval: 1 } } },
      { ...base, grant: { type: "device_code" } },
      {
        deviceCodePresenter: async (prompt) => {
          prompts.push(prompt.verificationUri);
          // The user enters the code elsewhere while this client polls.
          setTimeout(
            () => void kit?.user.enterUserCode(prompt.verificationUri, prompt.userCode),
            50,
          );
        },
      },
    );
    expect((await callTool(s, k.mcpUrl, "echo", { text: "tv" })).status).toBe(200);
    expect(prompts).toHaveLength(1);
    expect(authorizationRequests(k)).toBe(0);
    expect(tokenRequests(k, DEVICE_CODE)).toBeGreaterThanOrEqual(1);
    expect(trace.some((t) => t.decision === "user code")).toBe(true);
    // no secret of the flow in the trace
    expect(JSON.stringify(trace)).not.toMatch(/device_code=|user_code/);
  });

  it("the user denies: a typed DeviceAuthorizationDenied, no token", async () => {
    const { k, s } = await start(
      { authServer: { deviceFlow: { interval: 1 } }, user: { grant: "deny" } },
      { ...base, grant: { type: "device_code" } },
      {
        deviceCodePresenter: async (prompt) => {
          setTimeout(
            () => void kit?.user.enterUserCode(prompt.verificationUri, prompt.userCode),
            50,
          );
        },
      },
    );
    await expect(callTool(s, k.mcpUrl, "echo", { text: "no" })).rejects.toMatchObject({
      _tag: "DeviceAuthorizationDenied",
    });
    expect(s.state().token).toBeUndefined();
  });
});
