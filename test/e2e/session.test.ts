/**
 * The session over real servers (issue 3 "Tests"): every count below comes from the servers' own
 * request log (testkit), never from the client's idea of what it did.
 */
import { createSession, type Session, type SessionOptions, type TraceEntry } from "@authchart/core";
import { startTestkit, type Testkit, type TestkitOptions } from "@authchart/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { callTool, redirectUri, toolText } from "./support.js";

let kit: Testkit | undefined;
let session: Session | undefined;
afterEach(async () => {
  await session?.close();
  await kit?.close();
  session = undefined;
  kit = undefined;
});

const start = async (options: TestkitOptions = {}, overrides: Partial<SessionOptions> = {}) => {
  const k = await startTestkit(options);
  kit = k;
  const s = await createSession({
    serverUrl: k.mcpUrl,
    client: { clientName: "authchart e2e", redirectUris: [redirectUri] },
    userAgent: (prompt) => k.user.authorize(prompt.url),
    ...overrides,
  });
  session = s;
  const trace: TraceEntry[] = [];
  s.onTrace((entry) => trace.push(entry));
  return { k, s, trace };
};

const refreshes = (k: Testkit) =>
  k.requests.filter((r) => r.kind === "token" && r.grantType === "refresh_token").length;
const unauthorizedMcp = (k: Testkit) =>
  k.requests.filter((r) => r.kind === "mcp" && r.status === 401).length;
const forbiddenMcp = (k: Testkit) =>
  k.requests.filter((r) => r.kind === "mcp" && r.status === 403).length;

describe("behaviour 1: the first request without a token", () => {
  it("a cold first tool call costs the minimum: 401, PRM, AS metadata, registration, authorization, token, retry", async () => {
    const { k, s } = await start();
    const result = await callTool(s, k.mcpUrl, "echo", { text: "cold" });
    expect(result.status).toBe(200);
    expect(toolText(result.body.result ?? {})).toBe("cold");
    expect({
      mcp401: unauthorizedMcp(k),
      mcp: k.count("mcp"),
      prm: k.count("prm"),
      asMetadata: k.count("as-metadata"),
      registration: k.count("registration"),
      authorization: k.user.authorizations,
      token: k.count("token"),
    }).toEqual({
      mcp401: 1,
      mcp: 2,
      prm: 1,
      asMetadata: 1,
      registration: 1,
      authorization: 1,
      token: 1,
    });
  });

  it("the request body is replayed after authorization", async () => {
    const { k, s } = await start();
    const result = await callTool(s, k.mcpUrl, "echo", { text: "x".repeat(10_000) });
    expect(toolText(result.body.result ?? {})).toHaveLength(10_000);
  });
});

describe("behaviour 2: 403 insufficient_scope steps up, never refreshes", () => {
  it("step-up while a refresh token is held: one new authorization for granted ∪ challenged, zero refreshes", async () => {
    const { k, s, trace } = await start({ mcp: { challengeScope: ["mcp:read"] } });
    expect((await callTool(s, k.mcpUrl, "echo", { text: "a" })).status).toBe(200);
    expect(s.state().token?.hasRefreshToken).toBe(true);
    const write = await callTool(s, k.mcpUrl, "write-note", { text: "b" });
    expect(write.status).toBe(200);
    expect(k.user.authorizations).toBe(2);
    expect(refreshes(k)).toBe(0);
    expect(forbiddenMcp(k)).toBe(1);
    expect(s.state().token?.scopes).toEqual(expect.arrayContaining(["mcp:read", "mcp:write"]));
    const stepUp = trace.find((t) => t.decision === "step-up");
    expect(stepUp?.reason).toContain("never a refresh");
    expect(stepUp?.reason).toContain("a refresh token is held and deliberately not used");
  });

  it("20 concurrent calls that each get 403 for the same missing scope: exactly 1 new authorization", async () => {
    const { k, s } = await start({ mcp: { challengeScope: ["mcp:read"] } });
    await callTool(s, k.mcpUrl, "echo", { text: "warm" });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        callTool(s, k.mcpUrl, "write-note", { text: `n${i}` }, i + 2),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(k.user.authorizations).toBe(2);
    expect(refreshes(k)).toBe(0);
  });
});

describe("behaviour 3 and 7: refresh, single-flight, rejected-token attribution", () => {
  it("100 concurrent calls with an access token the server rejects: exactly 1 refresh, 0 failed calls", async () => {
    const { k, s } = await start();
    await callTool(s, k.mcpUrl, "echo", { text: "warm" });
    k.expireAccessTokens();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        callTool(s, k.mcpUrl, "echo", { text: `c${i}` }, i + 2),
      ),
    );
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(refreshes(k)).toBe(1);
    expect(k.user.authorizations).toBe(1);
  });

  it("100 concurrent calls with an expired access token: it is never sent, exactly 1 refresh", async () => {
    // Proactive refresh off (a skew far negative), so the requests meet the expired token; the
    // token lives 4 s, so the refreshed one outlives the storm of 100 calls.
    const { k, s } = await start(
      { authServer: { accessTokenTtlSeconds: 4 } },
      { config: { refreshSkewMillis: -3_600_000 } },
    );
    await callTool(s, k.mcpUrl, "echo", { text: "warm" });
    await new Promise((resolve) => setTimeout(resolve, 4_100));
    const before = unauthorizedMcp(k);
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        callTool(s, k.mcpUrl, "echo", { text: `c${i}` }, i + 2),
      ),
    );
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(refreshes(k)).toBe(1);
    expect(unauthorizedMcp(k) - before).toBe(0);
  });

  it("tokens that live shorter than the refresh skew are refreshed ahead, never in a loop; an idle session stops refreshing", async () => {
    // 2 s tokens, the default 60 s skew: a fixed skew would make every new token due at once.
    const { k, s } = await start({ authServer: { accessTokenTtlSeconds: 2 } });
    await callTool(s, k.mcpUrl, "echo", { text: "warm" });
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    // The token in use is refreshed once, 1 s before it expires; the new one is used by nobody, so
    // nothing more is sent while the session is idle (the next request refreshes on demand).
    expect(refreshes(k)).toBe(1);
    const r = await callTool(s, k.mcpUrl, "echo", { text: "later" }, 2);
    expect(r.status).toBe(200);
    expect(refreshes(k)).toBe(2);
    expect(unauthorizedMcp(k)).toBe(1);
  });

  it("invalid_grant on refresh (the grant was revoked): tokens dropped, one re-authorization", async () => {
    const { k, s, trace } = await start();
    await callTool(s, k.mcpUrl, "echo", { text: "warm" });
    k.revokeRefreshTokens();
    k.expireAccessTokens(); // the next call gets 401 -> refresh -> invalid_grant
    const r = await callTool(s, k.mcpUrl, "echo", { text: "again" }, 2);
    expect(r.status).toBe(200);
    expect(trace.map((t) => t.decision)).toContain("re-authorize");
    expect(k.user.authorizations).toBe(2);
  });
});
