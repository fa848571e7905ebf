/**
 * The bugs that motivated authchart, each against the real servers, plus the behaviours that
 * need them: scopes (S1-S5), declined scopes, re-registration, issuer binding, persistence,
 * cancellation, the bearer's origin, the decision trace.
 */
import {
  AuthSession,
  authorizedFetch,
  CredentialStore,
  type CredentialStoreService,
  createSession,
  type SessionOptions,
  type TraceEntry,
} from "@authchart/core";
import { startTestkit, type Testkit, type TestkitOptions } from "@authchart/testkit";
import { Effect } from "effect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { callTool, redirectUri, toolText } from "./support.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const memoryStore = (): CredentialStoreService =>
  Effect.runSync(Effect.provide(CredentialStore, CredentialStore.layerMemory));

const kitWith = async (options: TestkitOptions = {}) => {
  const k = await startTestkit(options);
  cleanups.push(() => k.close());
  return k;
};

const sessionFor = async (k: Testkit, overrides: Partial<SessionOptions> = {}) => {
  const trace: TraceEntry[] = [];
  const s = await createSession({
    serverUrl: k.mcpUrl,
    client: { clientName: "authchart e2e", redirectUris: [redirectUri] },
    userAgent: (prompt) => k.user.authorize(prompt.url),
    onTrace: (entry) => trace.push(entry),
    ...overrides,
  });
  cleanups.push(() => s.close());
  return { s, trace };
};

describe("scope regressions (SPEC S1-S5, T10)", () => {
  it("dynamic registration against a server that requires `scope` (Fastmail)", async () => {
    const k = await kitWith({ authServer: { requireScopeOnRegistration: true } });
    const { s } = await sessionFor(k);
    expect((await callTool(s, k.mcpUrl, "echo", { text: "ok" })).status).toBe(200);
    expect(k.requests.filter((r) => r.kind === "registration").map((r) => r.status)).toEqual([201]);
  });

  it("scopes_supported is used when the challenge names no scope (S1 step 2)", async () => {
    const k = await kitWith({ mcp: { challengeScope: "none" } });
    const { s, trace } = await sessionFor(k);
    expect((await callTool(s, k.mcpUrl, "admin-report")).status).toBe(200);
    expect(trace.find((t) => t.decision === "scopes")?.reason).toBe(
      "asking for mcp:read mcp:write mcp:admin offline_access (from scopes_supported)",
    );
    expect(k.user.authorizations).toBe(1);
  });

  it("discovered scopes refused with invalid_scope are retried once without a scope parameter (behaviour 5)", async () => {
    const k = await kitWith({
      mcp: { challengeScope: "none" },
      authServer: { rejectScopes: ["mcp:admin"] },
    });
    const { s, trace } = await sessionFor(k);
    expect((await callTool(s, k.mcpUrl, "echo", { text: "ok" })).status).toBe(200);
    expect(k.user.authorizations).toBe(2);
    expect(trace.map((t) => t.decision)).toContain("retry without scope");
  });

  it("scopes the challenge asked for are never dropped: invalid_scope on them fails with the server's error", async () => {
    const k = await kitWith({
      mcp: { challengeScope: ["mcp:read", "mcp:admin"] },
      authServer: { rejectScopes: ["mcp:admin"] },
    });
    const { s } = await sessionFor(k);
    await expect(callTool(s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "AuthorizationDenied",
      error: "invalid_scope",
    });
    expect(k.user.authorizations).toBe(1);
  });

  it("a user who declines a scope: the named error after one prompt, not a loop (behaviour 4)", async () => {
    const k = await kitWith({ user: { grant: "all-but", decline: ["mcp:write"] } });
    const { s } = await sessionFor(k);
    expect((await callTool(s, k.mcpUrl, "echo", { text: "ok" })).status).toBe(200);
    await expect(callTool(s, k.mcpUrl, "write-note", { text: "x" })).rejects.toMatchObject({
      _tag: "ScopeDeclined",
      missing: ["mcp:write"],
    });
    await expect(callTool(s, k.mcpUrl, "write-note", { text: "y" })).rejects.toMatchObject({
      _tag: "ScopeDeclined",
    });
    expect(k.user.authorizations).toBe(1);
    // The rest of the session keeps working.
    expect((await callTool(s, k.mcpUrl, "echo", { text: "still" })).status).toBe(200);
  });

  it("a user who denies: AuthorizationDenied, one prompt", async () => {
    const k = await kitWith({ user: { grant: "deny" } });
    const { s } = await sessionFor(k);
    await expect(callTool(s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "AuthorizationDenied",
      error: "access_denied",
    });
    await expect(callTool(s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "AuthorizationDenied",
    });
    expect(k.user.authorizations).toBe(1);
  });
});

describe("behaviour 6: invalid_client on a dynamically registered client", () => {
  it("forgets the registration and registers once more", async () => {
    const k = await kitWith();
    const { s, trace } = await sessionFor(k);
    await callTool(s, k.mcpUrl, "echo", { text: "warm" });
    k.forgetClients();
    k.expireAccessTokens(); // the next call gets 401 -> refresh -> invalid_client
    expect((await callTool(s, k.mcpUrl, "echo", { text: "again" }, 2)).status).toBe(200);
    expect(trace.map((t) => t.decision)).toContain("register again");
    expect(k.count("registration")).toBe(2);
  });
});

describe("behaviour 9: persistence through the CredentialStore", () => {
  it("a new session over a warm store with a valid token makes no discovery request and no authorization", async () => {
    const k = await kitWith();
    const store = memoryStore();
    const first = await sessionFor(k, { store });
    await callTool(first.s, k.mcpUrl, "echo", { text: "one" });
    await first.s.close();
    k.clearLog();
    const authorizationsBefore = k.user.authorizations;
    const second = await sessionFor(k, { store });
    expect(second.s.state().value).toBe("authorized");
    const r = await callTool(second.s, k.mcpUrl, "echo", { text: "two" });
    expect(toolText(r.body.result ?? {})).toBe("two");
    expect(k.requests.map((q) => q.kind)).toEqual(["mcp"]);
    expect(k.user.authorizations).toBe(authorizationsBefore);
    expect(second.trace[0]?.decision).toBe("restored");
  });

  it("a corrupted persisted session is ignored (decoded with Schema), never restored", async () => {
    const k = await kitWith();
    const store = memoryStore();
    await Effect.runPromise(
      store.saveSession(
        k.mcpUrl,
        JSON.stringify({ format: 1, serverUrl: k.mcpUrl, token: { version: "x" } }),
      ),
    );
    const { s } = await sessionFor(k, { store });
    expect(s.state().value).toBe("unauthorized");
    expect((await callTool(s, k.mcpUrl, "echo", { text: "ok" })).status).toBe(200);
  });

  it("logout forgets tokens: the next call authorizes again, the client registration is reused", async () => {
    const k = await kitWith();
    const store = memoryStore();
    const { s } = await sessionFor(k, { store });
    await callTool(s, k.mcpUrl, "echo", { text: "one" });
    await s.logout();
    expect(s.state().value).toBe("unauthorized");
    await callTool(s, k.mcpUrl, "echo", { text: "two" });
    expect(k.user.authorizations).toBe(2);
    expect(k.count("registration")).toBe(1);
  });
});

describe("behaviour 10: cancellation", () => {
  it("closing the session interrupts the browser step and rejects waiting requests", async () => {
    const k = await kitWith();
    let aborted = false;
    let atBrowser = false;
    const { s } = await sessionFor(k, {
      userAgent: (_prompt, signal) =>
        new Promise((_, reject) => {
          atBrowser = true;
          signal.addEventListener("abort", () => {
            aborted = true;
            reject(new Error("aborted"));
          });
        }),
    });
    const pending = callTool(s, k.mcpUrl, "echo", { text: "x" });
    // Until the browser step has started (a fixed sleep is a guess on a loaded machine).
    await vi.waitFor(() => expect(atBrowser).toBe(true), { timeout: 15_000, interval: 20 });
    await s.close();
    await expect(pending).rejects.toMatchObject({ _tag: "FlowCancelled" });
    expect(aborted).toBe(true);
    expect(s.actor.getSnapshot().status).toBe("stopped");
  });

  it("aborting the request that waits on the browser step detaches it only: the flow runs on and the next request uses its result", async () => {
    // The MCP SDK aborts a request after 60 s while the user may still be at the consent page.
    const k = await kitWith();
    let finish: ((url: string) => void) | undefined;
    let authorizationUrl = "";
    const { s } = await sessionFor(k, {
      userAgent: (prompt) =>
        new Promise<string>((resolve) => {
          authorizationUrl = prompt.url;
          finish = resolve;
        }),
    });
    const controller = new AbortController();
    const pending = s.fetch(k.mcpUrl, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json" },
      signal: controller.signal,
    });
    // Until the browser step has started.
    await vi.waitFor(() => expect(finish).toBeDefined(), { timeout: 15_000, interval: 20 });
    controller.abort();
    await expect(pending).rejects.toThrow();
    expect(s.state().flowStep).toBe("authorizing");
    finish?.(await k.user.authorize(authorizationUrl));
    const r = await callTool(s, k.mcpUrl, "echo", { text: "after the login" });
    expect(r.status).toBe(200);
    expect(k.user.authorizations).toBe(1);
  });

  it("session.cancel() stops the browser step", async () => {
    const k = await kitWith();
    let aborted = false;
    let atBrowser = false;
    const { s } = await sessionFor(k, {
      userAgent: (_prompt, signal) =>
        new Promise((_, reject) => {
          atBrowser = true;
          signal.addEventListener("abort", () => {
            aborted = true;
            reject(new Error("aborted"));
          });
        }),
    });
    const pending = callTool(s, k.mcpUrl, "echo", { text: "x" });
    // Until the browser step has started (a fixed sleep is a guess on a loaded machine).
    await vi.waitFor(() => expect(atBrowser).toBe(true), { timeout: 15_000, interval: 20 });
    s.cancel();
    await expect(pending).rejects.toMatchObject({ _tag: "FlowCancelled" });
    expect(s.state().value).toBe("unauthorized");
    expect(aborted).toBe(true);
  });

  it("waiting for the user has a timeout", async () => {
    const k = await kitWith();
    const { s } = await sessionFor(k, {
      userAgent: () => new Promise(() => {}),
      config: { authorizationTimeoutMillis: 300 },
    });
    await expect(callTool(s, k.mcpUrl, "echo", { text: "x" })).rejects.toMatchObject({
      _tag: "AuthorizationTimeout",
    });
    expect(s.state().value).toBe("failed");
  });
});

describe("behaviour 12: the decision trace", () => {
  it("says which metadata URL answered, which scopes and from where, why refresh rather than authorize", async () => {
    const k = await kitWith();
    const { s, trace } = await sessionFor(k);
    await callTool(s, k.mcpUrl, "echo", { text: "one" });
    k.expireAccessTokens();
    await callTool(s, k.mcpUrl, "echo", { text: "two" }, 2);
    const byDecision = new Map(trace.map((t) => [t.decision, t.reason]));
    expect(byDecision.get("resource metadata")).toBe(
      `found at ${k.mcpOrigin}/.well-known/oauth-protected-resource/mcp`,
    );
    expect(byDecision.get("scopes")).toContain("(from challenge)");
    expect(byDecision.get("refresh")).toBe("401 on the current token and a refresh token is held");
    expect(trace.map((t) => t.decision)).toEqual([
      "discover",
      "grant",
      "resource metadata",
      "scopes",
      "client",
      "authorize",
      "token",
      "refresh",
      "refreshed",
    ]);
  });
});

describe("re-entrancy", () => {
  it("a request made from inside a state listener is answered (events queued by the actor are not lost)", async () => {
    const k = await kitWith();
    const { s } = await sessionFor(k);
    let fromListener: Promise<{ status: number }> | undefined;
    s.subscribe((state) => {
      if (state.value === "authorized" && fromListener === undefined) {
        k.expireAccessTokens(); // so the listener's request meets a 401 while the actor is busy
        fromListener = callTool(s, k.mcpUrl, "echo", { text: "inside" }, 7);
      }
    });
    expect((await callTool(s, k.mcpUrl, "echo", { text: "outside" })).status).toBe(200);
    expect((await fromListener)?.status).toBe(200);
  });
});

describe("the server URL (SPEC A6, X1)", () => {
  it("is refused when it is not a resource identifier, or plain http beyond loopback", async () => {
    const client = { clientName: "t", redirectUris: [redirectUri] as [string] };
    await expect(createSession({ serverUrl: "not a url", client })).rejects.toMatchObject({
      _tag: "InvalidResourceUri",
    });
    await expect(
      createSession({ serverUrl: "https://mcp.example.com/mcp#frag", client }),
    ).rejects.toMatchObject({ _tag: "InvalidResourceUri" });
    await expect(
      createSession({ serverUrl: "http://mcp.example.com/mcp", client }),
    ).rejects.toMatchObject({
      _tag: "InsecureUrl",
      reason: "plain http outside loopback",
    });
  });
});

describe("session.authorize()", () => {
  it("ahead of time, for more scope, idempotent when held, ScopeDeclined when the grant falls short", async () => {
    const k = await kitWith({ user: { grant: "all-but", decline: ["mcp:admin"] } });
    const { s } = await sessionFor(k);
    await s.authorize(["mcp:read"]);
    expect(s.state().value).toBe("authorized");
    expect(k.user.authorizations).toBe(1);
    await s.authorize(["mcp:read"]); // held: no prompt
    expect(k.user.authorizations).toBe(1);
    await s.authorize(["mcp:write"]);
    expect(s.state().token?.scopes).toEqual(expect.arrayContaining(["mcp:read", "mcp:write"]));
    expect(k.user.authorizations).toBe(2);
    await expect(s.authorize(["mcp:admin"])).rejects.toMatchObject({
      _tag: "ScopeDeclined",
      missing: ["mcp:admin"],
    });
    // the session keeps working with what was granted
    expect((await callTool(s, k.mcpUrl, "write-note", { text: "ok" })).status).toBe(200);
  });

  it("logout deletes the tokens from the store", async () => {
    const k = await kitWith();
    const store = memoryStore();
    const { s } = await sessionFor(k, { store });
    await callTool(s, k.mcpUrl, "echo", { text: "one" });
    const token = s.state().token;
    if (!token) throw new Error("no token");
    await s.logout();
    const stored = await Effect.runPromise(
      store.loadTokens({
        resource: token.resource,
        issuer: token.issuer,
        clientId: token.clientId,
      }),
    );
    expect(stored._tag).toBe("None");
    expect((await Effect.runPromise(store.loadSession(k.mcpUrl)))._tag).toBe("None");
  });
});

describe("the Effect API", () => {
  it("a network failure of the protected request is a TransportError in the error channel", async () => {
    const closed = "http://127.0.0.1:9/mcp";
    const program = authorizedFetch(closed, { method: "POST", body: "{}" }).pipe(
      Effect.provide(
        AuthSession.layer({
          serverUrl: closed,
          client: { clientName: "t", redirectUris: [redirectUri] },
        }),
      ),
    );
    const result = await Effect.runPromise(Effect.either(program));
    expect(result).toMatchObject({ _tag: "Left", left: { _tag: "TransportError", url: closed } });
  });
});

describe("sessions sharing a store", () => {
  it("a session adopts the token another session refreshed instead of refreshing again (no ping-pong)", async () => {
    const k = await kitWith();
    const store = memoryStore();
    const a = await sessionFor(k, { store });
    await callTool(a.s, k.mcpUrl, "echo", { text: "a" });
    const b = await sessionFor(k, { store }); // restored from a's persisted state
    expect(b.s.state().value).toBe("authorized");
    k.expireAccessTokens();
    await callTool(a.s, k.mcpUrl, "echo", { text: "a refreshes" }, 2);
    const refreshesAfterA = k.requests.filter(
      (r) => r.kind === "token" && r.grantType === "refresh_token",
    ).length;
    expect(refreshesAfterA).toBe(1);
    for (let i = 0; i < 3; i++) {
      expect((await callTool(b.s, k.mcpUrl, "echo", { text: `b${i}` }, 3 + i)).status).toBe(200);
      expect((await callTool(a.s, k.mcpUrl, "echo", { text: `a${i}` }, 6 + i)).status).toBe(200);
    }
    expect(
      k.requests.filter((r) => r.kind === "token" && r.grantType === "refresh_token").length,
    ).toBe(1);
    expect(b.trace.map((t) => t.decision)).toContain("adopted");
  });
});
