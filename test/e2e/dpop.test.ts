/**
 * DPoP (RFC 9449) end to end: oidc-provider with DPoP on (and nonces), the MCP server verifying
 * proofs and the token's key binding. The session proves possession on every token, refresh and
 * resource request, retries once with a server's nonce (authorization server and resource
 * server), and never presents a DPoP-bound token as Bearer.
 */
import { createSession, type Session, type TraceEntry } from "@authchart/core";
import { startTestkit, type Testkit, type TestkitOptions } from "@authchart/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { callTool, memoryStore, redirectUri } from "./support.js";

let kit: Testkit | undefined;
let session: Session | undefined;
afterEach(async () => {
  await session?.close();
  await kit?.close();
  session = undefined;
  kit = undefined;
});

const start = async (options: TestkitOptions) => {
  const k = await startTestkit(options);
  kit = k;
  const s = await createSession({
    serverUrl: k.mcpUrl,
    client: { clientName: "authchart e2e", redirectUris: [redirectUri] },
    userAgent: (prompt) => k.user.authorize(prompt.url),
  });
  session = s;
  const trace: TraceEntry[] = [];
  s.onTrace((entry) => trace.push(entry));
  return { k, s, trace };
};

const tokenRequests = (k: Testkit) => k.requests.filter((r) => r.kind === "token");
const mcpRequests = (k: Testkit) => k.requests.filter((r) => r.kind === "mcp");

describe("DPoP across the lifecycle", () => {
  it("a DPoP-bound token: proofs on the token request and every resource request, never Bearer", async () => {
    const { k, s } = await start({ authServer: { dpop: true }, mcp: { dpop: { required: true } } });
    expect((await callTool(s, k.mcpUrl, "echo", { text: "bound" })).status).toBe(200);
    expect((await callTool(s, k.mcpUrl, "echo", { text: "again" }, 2)).status).toBe(200);
    expect(tokenRequests(k).every((r) => r.dpop === true)).toBe(true);
    // The first MCP request went without a token (401); every one with the token carried a proof.
    const withToken = mcpRequests(k).filter((r) => r.status !== 401);
    expect(withToken.length).toBeGreaterThanOrEqual(2);
    expect(withToken.every((r) => r.dpop === true)).toBe(true);
  });

  it("a refresh carries a proof with the same key", async () => {
    const { k, s } = await start({ authServer: { dpop: true }, mcp: { dpop: { required: true } } });
    expect((await callTool(s, k.mcpUrl, "echo", { text: "a" })).status).toBe(200);
    k.expireAccessTokens();
    expect((await callTool(s, k.mcpUrl, "echo", { text: "b" }, 2)).status).toBe(200);
    const refreshes = tokenRequests(k).filter((r) => r.grantType === "refresh_token");
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]?.dpop).toBe(true);
  });

  it("use_dpop_nonce from the authorization server and from the resource server: one retry each", async () => {
    const { k, s } = await start({
      authServer: { dpop: { requireNonce: true } },
      mcp: { dpop: { requireNonce: true, required: true } },
    });
    expect((await callTool(s, k.mcpUrl, "echo", { text: "nonce" })).status).toBe(200);
    // The code exchange: once without the nonce (400 use_dpop_nonce), once with it.
    const codeExchanges = tokenRequests(k).filter((r) => r.grantType === "authorization_code");
    expect(codeExchanges.map((r) => r.status)).toEqual([400, 200]);
    // The resource: a nonce challenge answered once; a rotated nonce is answered once more.
    k.rotateDpopNonce();
    expect((await callTool(s, k.mcpUrl, "echo", { text: "rotated" }, 2)).status).toBe(200);
    // no token (401) · a proof without the nonce (401 use_dpop_nonce) · with it (200) · after the
    // nonce rotated (401) · with the new one (200): each nonce challenge answered exactly once.
    expect(mcpRequests(k).map((r) => [r.status, r.dpop === true])).toEqual([
      [401, false],
      [401, true],
      [200, true],
      [401, true],
      [200, true],
    ]);
    expect(k.user.authorizations).toBe(1);
  });

  it("logout, a new login, then a new session over the same store: the new token's key is stored", async () => {
    const k = await startTestkit({ authServer: { dpop: true }, mcp: { dpop: { required: true } } });
    kit = k;
    const store = memoryStore();
    const options = {
      serverUrl: k.mcpUrl,
      client: { clientName: "authchart e2e", redirectUris: [redirectUri] as [string] },
      userAgent: (prompt: { url: string }) => k.user.authorize(prompt.url),
      store,
    };
    const first = await createSession(options);
    expect((await callTool(first, k.mcpUrl, "echo", { text: "a" })).status).toBe(200);
    await first.logout();
    expect((await callTool(first, k.mcpUrl, "echo", { text: "b" }, 2)).status).toBe(200);
    await first.close();
    const second = await createSession(options);
    session = second;
    expect((await callTool(second, k.mcpUrl, "echo", { text: "c" }, 3)).status).toBe(200);
    expect(k.user.authorizations).toBe(2);
  });

  it("without DPoP at the authorization server, the token stays Bearer (auto)", async () => {
    const { k, s } = await start({});
    expect((await callTool(s, k.mcpUrl, "echo", { text: "plain" })).status).toBe(200);
    expect(tokenRequests(k).some((r) => r.dpop === true)).toBe(false);
    expect(mcpRequests(k).some((r) => r.dpop === true)).toBe(false);
  });
});
