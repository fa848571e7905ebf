/** A hand-driven OAuth client for the tests: plain fetch, PKCE computed with node:crypto. */
import { createHash, randomBytes } from "node:crypto";
import type { Testkit } from "../src/index.js";

export interface AsMetadata {
  readonly issuer: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly registration_endpoint: string;
  readonly jwks_uri: string;
  readonly scopes_supported?: string[];
  readonly code_challenge_methods_supported?: string[];
  readonly authorization_response_iss_parameter_supported?: boolean;
  readonly [key: string]: unknown;
}

export interface RegisteredClient {
  readonly client_id: string;
  readonly client_secret?: string;
  readonly scope?: string;
  readonly redirect_uris: string[];
  readonly [key: string]: unknown;
}

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly refresh_token?: string;
  readonly scope?: string;
}

export const REDIRECT_URI = "http://127.0.0.1:7777/callback";

export async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

export async function metadata(kit: Testkit): Promise<AsMetadata> {
  const url = new URL(kit.issuer);
  const path = url.pathname === "/" ? "" : url.pathname;
  const response = await fetch(`${url.origin}/.well-known/oauth-authorization-server${path}`);
  if (response.status !== 200) throw new Error(`metadata: ${response.status}`);
  return json<AsMetadata>(response);
}

export async function register(
  kit: Testkit,
  overrides: Record<string, unknown> = {},
): Promise<{ status: number; body: RegisteredClient & { error?: string } }> {
  const meta = await metadata(kit);
  const response = await fetch(meta.registration_endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({
      client_name: "testkit test client",
      application_type: "native",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      scope: "mcp:read mcp:write",
      ...overrides,
    }),
  });
  return { status: response.status, body: await json(response) };
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

export interface AuthorizationRequest {
  readonly url: string;
  readonly state: string;
  readonly verifier: string;
  readonly redirectUri: string;
}

export async function authorizationRequest(
  kit: Testkit,
  clientId: string,
  scope: string | undefined,
  extra: Record<string, string> = {},
): Promise<AuthorizationRequest> {
  const meta = await metadata(kit);
  const { verifier, challenge } = pkce();
  const state = randomBytes(16).toString("base64url");
  const url = new URL(meta.authorization_endpoint);
  const redirectUri = extra.redirect_uri ?? REDIRECT_URI;
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("code_challenge", challenge);
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("state", state);
  url.searchParams.set("resource", kit.mcpUrl);
  if (scope !== undefined) url.searchParams.set("scope", scope);
  for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
  return { url: url.href, state, verifier, redirectUri };
}

export async function tokenRequest(
  kit: Testkit,
  params: Record<string, string>,
  auth?: { id: string; secret: string },
): Promise<Response> {
  const meta = await metadata(kit);
  const headers: Record<string, string> = {
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
  };
  if (auth) {
    const encode = (s: string) => encodeURIComponent(s);
    headers.authorization = `Basic ${Buffer.from(`${encode(auth.id)}:${encode(auth.secret)}`).toString("base64")}`;
  }
  return fetch(meta.token_endpoint, {
    method: "POST",
    headers,
    body: new URLSearchParams(params).toString(),
  });
}

/** Register, authorize with the headless user, redeem the code. */
export async function obtainTokens(
  kit: Testkit,
  scope = "mcp:read mcp:write",
): Promise<{ client: RegisteredClient; tokens: TokenResponse; callback: URL }> {
  const { body: client } = await register(kit, { scope });
  const request = await authorizationRequest(kit, client.client_id, scope);
  const callback = new URL(await kit.user.authorize(request.url));
  const code = callback.searchParams.get("code");
  if (!code) throw new Error(`no code: ${callback.href}`);
  const response = await tokenRequest(kit, {
    grant_type: "authorization_code",
    code,
    code_verifier: request.verifier,
    redirect_uri: request.redirectUri,
    client_id: client.client_id,
    resource: kit.mcpUrl,
  });
  if (response.status !== 200)
    throw new Error(`token: ${response.status} ${await response.text()}`);
  return { client, tokens: await json<TokenResponse>(response), callback };
}

let rpcId = 0;

/** One JSON-RPC request to the MCP server. */
export async function mcpCall(
  kit: Testkit,
  token: string | undefined,
  method: string,
  params: Record<string, unknown> = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
  };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return fetch(kit.mcpUrl, {
    method: "POST",
    headers,
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
  });
}

export const INITIALIZE_PARAMS = {
  protocolVersion: "2025-11-25",
  capabilities: {},
  clientInfo: { name: "testkit-test", version: "0.0.0" },
};
