/**
 * The interaction policy end to end (issue 8): a background session (`interaction: "never"`)
 * against the real authorization server (oidc-provider through testkit) and the MCP SDK server.
 * When only the user can help it fails at once with InteractionRequired — naming the resource,
 * the issuer and the scopes — and the servers' own request log shows that nothing was registered
 * and no authorization request was made; a token held or refreshable keeps serving. Once the
 * user logs in elsewhere over the same store, the same background session's next request adopts
 * the stored token — unless it lacks a scope the request needs (a step-up).
 */
import {
  type CredentialStoreService,
  createSession,
  InteractionRequired,
  type Session,
  type SessionOptions,
  type TraceEntry,
} from "@authchart/core";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { callTool, memoryStore, redirectUri, toolText } from "./support.js";

let kit: Testkit | undefined;
const sessions: Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
  await kit?.close();
  kit = undefined;
});

const client = { clientName: "authchart e2e", redirectUris: [redirectUri] as [string] };

const open = async (k: Testkit, options: Partial<SessionOptions>) => {
  const s = await createSession({ serverUrl: k.mcpUrl, client, ...options });
  sessions.push(s);
  const trace: TraceEntry[] = [];
  s.onTrace((entry) => trace.push(entry));
  return { s, trace };
};

/** A background session: it has no user agent at all, and may not prompt. */
const background = (k: Testkit, store: CredentialStoreService = memoryStore()) =>
  open(k, { store, interaction: "never" });

/** An interactive login over `store` (what `authchart login` does). */
const login = async (k: Testkit, store: CredentialStoreService) => {
  const { s } = await open(k, { store, userAgent: (prompt) => k.user.authorize(prompt.url) });
  expect((await callTool(s, k.mcpUrl, "echo", { text: "login" })).status).toBe(200);
  await s.close();
};

const authorizationRequests = (k: Testkit) => k.count("authorization");

describe("a background session that needs the user", () => {
  it("fails at once with InteractionRequired naming the resource, the issuer and the scopes: nothing registered, no authorization request", async () => {
    const k = await startTestkit();
    kit = k;
    const { s, trace } = await background(k);
    const error = await callTool(s, k.mcpUrl, "echo", { text: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InteractionRequired);
    expect(error).toMatchObject({
      _tag: "InteractionRequired",
      resource: k.mcpUrl,
      issuer: k.issuer,
      // the resource's scopes_supported, and offline_access which the server lists (SEP-2207)
      scopes: ["mcp:read", "mcp:write", "mcp:admin", "offline_access"],
    });
    expect((error as Error).message).toBe(
      `consent needed at ${k.issuer} for mcp:read mcp:write mcp:admin offline_access on ${k.mcpUrl}; run an interactive login (authchart login ${k.mcpUrl})`,
    );
    expect({
      registration: k.count("registration"),
      authorization: authorizationRequests(k),
      userAuthorizations: k.user.authorizations,
      token: k.count("token"),
    }).toEqual({ registration: 0, authorization: 0, userAuthorizations: 0, token: 0 });
    expect(trace.find((t) => t.decision === "interaction required")?.details).toMatchObject({
      issuer: k.issuer,
    });
    expect(s.state().value).toBe("failed");
  });

  it("repeated and concurrent requests each fail fast with the same error: no discovery again, no hang", async () => {
    const k = await startTestkit();
    kit = k;
    const { s } = await background(k);
    for (let i = 0; i < 3; i++) {
      await expect(callTool(s, k.mcpUrl, "echo", { text: `${i}` })).rejects.toMatchObject({
        _tag: "InteractionRequired",
      });
    }
    const concurrent = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => callTool(s, k.mcpUrl, "echo", { text: `c${i}` })),
    );
    expect(
      concurrent.map((r) => (r.status === "rejected" ? (r.reason as { _tag: string })._tag : "ok")),
    ).toEqual(Array(10).fill("InteractionRequired"));
    expect({ prm: k.count("prm"), asMetadata: k.count("as-metadata") }).toEqual({
      prm: 1,
      asMetadata: 1,
    });
    expect(authorizationRequests(k)).toBe(0);
  });

  it("a device-code session does not show a user code either", async () => {
    const k = await startTestkit({ authServer: { deviceFlow: { interval: 1 } } });
    kit = k;
    let shown = 0;
    const { s } = await open(k, {
      client: { ...client, grant: { type: "device_code" } },
      interaction: "never",
      deviceCodePresenter: async () => {
        shown++;
      },
    });
    await expect(callTool(s, k.mcpUrl, "echo", { text: "tv" })).rejects.toMatchObject({
      _tag: "InteractionRequired",
      issuer: k.issuer,
    });
    expect(shown).toBe(0);
    expect(k.count("device-authorization")).toBe(0);
    expect(k.count("registration")).toBe(0);
  });
});

describe("after an interactive login over the same store", () => {
  it("the same background session that failed before the login serves with the stored token: no authorization request, no registration of its own", async () => {
    const k = await startTestkit();
    kit = k;
    const store = memoryStore();
    const { s, trace } = await background(k, store);
    await expect(callTool(s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "InteractionRequired",
    });
    expect({
      authorization: authorizationRequests(k),
      registration: k.count("registration"),
    }).toEqual({ authorization: 0, registration: 0 });
    await login(k, store);
    expect({
      authorization: authorizationRequests(k),
      registration: k.count("registration"),
    }).toEqual({ authorization: 1, registration: 1 });
    // The background session's next request looks in the store and adopts the login's token.
    const result = await callTool(s, k.mcpUrl, "echo", { text: "background" });
    expect(result.status).toBe(200);
    expect(toolText(result.body.result ?? {})).toBe("background");
    expect({
      authorization: authorizationRequests(k),
      registration: k.count("registration"),
    }).toEqual({ authorization: 1, registration: 1 });
    expect(k.user.authorizations).toBe(1);
    expect(s.state().value).toBe("authorized");
    expect(trace.find((t) => t.decision === "adopted")?.reason).toContain("obtained elsewhere");
  });

  it("a step-up for a scope the stored token lacks still fails with InteractionRequired; the token keeps serving", async () => {
    const k = await startTestkit({ mcp: { challengeScope: ["mcp:read"] } });
    kit = k;
    const store = memoryStore();
    const { s } = await background(k, store);
    await expect(callTool(s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "InteractionRequired",
    });
    await login(k, store);
    expect((await callTool(s, k.mcpUrl, "echo", { text: "read" })).status).toBe(200);
    expect(s.state().token?.scopes).not.toContain("mcp:write");
    // write-note needs mcp:write: the stored token does not answer the step-up.
    await expect(callTool(s, k.mcpUrl, "write-note", { text: "w" })).rejects.toMatchObject({
      _tag: "InteractionRequired",
      issuer: k.issuer,
      scopes: expect.arrayContaining(["mcp:read", "mcp:write"]),
    });
    expect((await callTool(s, k.mcpUrl, "echo", { text: "still" })).status).toBe(200);
    expect({
      authorization: authorizationRequests(k),
      registration: k.count("registration"),
    }).toEqual({ authorization: 1, registration: 1 });
  });

  it("a refreshable token keeps serving; a refresh token the server no longer honours ends in InteractionRequired, not a browser step", async () => {
    const k = await startTestkit();
    kit = k;
    const store = memoryStore();
    await login(k, store);
    const { s } = await background(k, store);
    expect((await callTool(s, k.mcpUrl, "echo", { text: "a" })).status).toBe(200);
    k.expireAccessTokens();
    expect((await callTool(s, k.mcpUrl, "echo", { text: "b" })).status).toBe(200);
    const refreshes = () =>
      k.requests.filter((r) => r.kind === "token" && r.grantType === "refresh_token").length;
    expect(refreshes()).toBe(1);
    k.revokeRefreshTokens();
    k.expireAccessTokens();
    await expect(callTool(s, k.mcpUrl, "echo", { text: "c" })).rejects.toMatchObject({
      _tag: "InteractionRequired",
      issuer: k.issuer,
    });
    expect(refreshes()).toBe(2);
    expect(authorizationRequests(k)).toBe(1);
    expect(k.user.authorizations).toBe(1);
  });
});
