/**
 * A reference client against the testkit: the MCP SDK's own Client + StreamableHTTPClientTransport
 * with its OAuth support (PRM discovery, AS metadata, DCR, PKCE, resource), the headless user
 * playing the browser. Proves the servers speak what a widely used client expects.
 */

import type { OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type {
  OAuthClientInformationMixed,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import { afterEach, expect, it } from "vitest";
import { startTestkit, type Testkit } from "../src/index.js";

let kit: Testkit | undefined;

afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

class HeadlessProvider implements OAuthClientProvider {
  client: OAuthClientInformationMixed | undefined;
  saved: OAuthTokens | undefined;
  verifier = "";
  callback: URL | undefined;
  constructor(private readonly testkit: Testkit) {}
  get redirectUrl() {
    return "http://127.0.0.1:49152/callback";
  }
  get clientMetadata() {
    return {
      client_name: "sdk reference client",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      application_type: "native",
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  async redirectToAuthorization(url: URL) {
    this.callback = new URL(await this.testkit.user.authorize(url.href));
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

it.each([{ jsonResponse: true }, { jsonResponse: false }])(
  "the MCP SDK client authorizes against the testkit and calls a tool (%o)",
  async ({ jsonResponse }) => {
    kit = await startTestkit({ mcp: { challengeScope: ["mcp:read"], jsonResponse } });
    const provider = new HeadlessProvider(kit);
    const connect = async () => {
      const client = new Client({ name: "sdk-reference", version: "0.0.0" });
      const transport = new StreamableHTTPClientTransport(new URL(kit?.mcpUrl ?? ""), {
        authProvider: provider,
      });
      await client.connect(transport);
      return { client, transport };
    };

    const first = new Client({ name: "sdk-reference", version: "0.0.0" });
    const firstTransport = new StreamableHTTPClientTransport(new URL(kit.mcpUrl), {
      authProvider: provider,
    });
    await expect(first.connect(firstTransport)).rejects.toBeInstanceOf(UnauthorizedError);
    const code = provider.callback?.searchParams.get("code");
    expect(code).toEqual(expect.any(String));
    expect(provider.callback?.searchParams.get("iss")).toBe(kit.issuer);
    await firstTransport.finishAuth(code ?? "");
    expect(provider.saved?.scope).toBe("mcp:read");
    await first.close();

    const { client } = await connect();
    const result = await client.callTool({ name: "echo", arguments: { text: "from the SDK" } });
    expect(result.content).toEqual([{ type: "text", text: "from the SDK" }]);
    await client.close();

    expect(kit.count("prm")).toBeGreaterThan(0);
    expect(kit.count("registration", { status: 201 })).toBe(1);
    expect(kit.count("token", { grantType: "authorization_code", status: 200 })).toBe(1);
  },
);
