/**
 * Lean sessions (issue "Lean sessions and a lean hot path"), counted on real servers: a session
 * restored from a warm store serves its stored token without starting the statechart — no timer,
 * no store write, no request to the authorization server — and the statechart takes over, from
 * the restored state, the moment something needs it (a challenge, a due refresh, someone
 * watching). Every count comes from testkit's request log or the store itself.
 */
import {
  type CredentialStoreService,
  createSession,
  type Session,
  type SessionOptions,
} from "@authchart/core";
import { sharedScheduler } from "@authchart/core/internals";
import { startTestkit, type Testkit, type TestkitOptions } from "@authchart/testkit";
import { Effect, Option } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { callTool, memoryStore, redirectUri } from "./support.js";

let kit: Testkit | undefined;
const sessions: Session[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
  await kit?.close();
  kit = undefined;
});

/** The memory store, with its session-record writes counted (the store itself, not a stand-in). */
const countingStore = () => {
  const store = memoryStore();
  const writes = { sessions: 0 };
  const counted: CredentialStoreService = {
    ...store,
    saveSession: (serverUrl, json) => {
      writes.sessions++;
      return store.saveSession(serverUrl, json);
    },
  };
  return { store: counted, writes };
};

const open = async (
  k: Testkit,
  store: CredentialStoreService,
  more: Partial<SessionOptions> = {},
) => {
  const s = await createSession({
    serverUrl: k.mcpUrl,
    store,
    client: { clientName: "authchart lean e2e", redirectUris: [redirectUri] },
    userAgent: (prompt) => k.user.authorize(prompt.url),
    ...more,
  });
  sessions.push(s);
  return s;
};

/** A store holding what a login left: the first session authorizes for real, then closes. */
const loggedIn = async (options: TestkitOptions = {}) => {
  const k = await startTestkit(options);
  kit = k;
  const { store, writes } = countingStore();
  const first = await open(k, store);
  expect((await callTool(first, k.mcpUrl, "echo", { text: "login" })).status).toBe(200);
  await first.close();
  return { k, store, writes, requestsAfterLogin: k.requests.length };
};

const refreshes = (k: Testkit) =>
  k.requests.filter((r) => r.kind === "token" && r.grantType === "refresh_token").length;
const unauthorizedMcp = (k: Testkit) =>
  k.requests.filter((r) => r.kind === "mcp" && r.status === 401).length;
const toAuthServer = (k: Testkit, since: number) =>
  k.requests.slice(since).filter((r) => r.server === "as").length;

describe("a session restored from a warm store", () => {
  it("serves the stored token at once: no statechart timer, no store write, no request to the authorization server", async () => {
    const { k, store, writes, requestsAfterLogin } = await loggedIn();
    const writesAfterLogin = writes.sessions;
    const timers = sharedScheduler.pending();
    const s = await open(k, store);
    expect(sharedScheduler.pending()).toBe(timers);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => callTool(s, k.mcpUrl, "echo", { text: `w${i}` }, i + 1)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(toAuthServer(k, requestsAfterLogin)).toBe(0);
    expect(unauthorizedMcp(k)).toBe(1); // the login's own first request, none since
    // An unchanged record is not written back on start, nor by serving requests.
    expect(writes.sessions).toBe(writesAfterLogin);
    expect(sharedScheduler.pending()).toBe(timers);
    // Watching starts the statechart from the restored state — which still writes nothing.
    const seen: string[] = [];
    s.onTrace((entry) => seen.push(entry.decision));
    expect(s.state().value).toBe("authorized");
    expect(seen).toContain("restored");
    expect(writes.sessions).toBe(writesAfterLogin);
    await s.close();
    expect(sharedScheduler.pending()).toBe(timers);
  });

  it("a 403 insufficient_scope starts the statechart from the restored state: one step-up authorization, no refresh", async () => {
    const { k, store, requestsAfterLogin } = await loggedIn({
      mcp: { challengeScope: ["mcp:read"] },
    });
    const s = await open(k, store);
    const authorizations = k.user.authorizations;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        callTool(s, k.mcpUrl, "write-note", { text: `n${i}` }, i + 1),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(k.user.authorizations - authorizations).toBe(1);
    expect(refreshes(k)).toBe(0);
    // No rediscovery: the restored metadata serves the step-up (authorization + token only).
    expect(
      k.requests
        .slice(requestsAfterLogin)
        .filter((r) => r.kind === "prm" || r.kind === "as-metadata" || r.kind === "registration"),
    ).toEqual([]);
    expect(s.state().token?.scopes).toEqual(expect.arrayContaining(["mcp:read", "mcp:write"]));
  });

  it("a rejected stored token starts the statechart: 50 concurrent calls, exactly 1 refresh, 0 failed", async () => {
    const { k, store } = await loggedIn();
    const s = await open(k, store);
    k.expireAccessTokens();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => callTool(s, k.mcpUrl, "echo", { text: `c${i}` }, i + 1)),
    );
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(refreshes(k)).toBe(1);
    expect(k.user.authorizations).toBe(1);
  });

  it("refresh economy: a token in use is refreshed once per lifetime, ahead of expiry — the server sees no 401", async () => {
    // 6 s tokens; the default margin (a tenth of the lifetime, never under 2 s) makes each due
    // 4 s after issue — half-life refreshes would be due at 3 s. Calls every 100 ms for 10 s:
    // the first refresh is started by a request (the statechart starts then, from the restored
    // state), the second by the statechart's own timer; no request meets an expired token.
    const { k, store } = await loggedIn({ authServer: { accessTokenTtlSeconds: 6 } });
    const s = await open(k, store);
    const timers = sharedScheduler.pending();
    const before = unauthorizedMcp(k);
    const until = Date.now() + 10_000;
    let calls = 0;
    let failed = 0;
    while (Date.now() < until) {
      const r = await callTool(s, k.mcpUrl, "echo", { text: "tick" }, ++calls);
      if (r.status !== 200) failed++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(failed).toBe(0);
    expect(unauthorizedMcp(k) - before).toBe(0);
    expect(refreshes(k)).toBe(2);
    await s.close();
    // Closed: nothing of it is left in the shared scheduler.
    expect(sharedScheduler.pending()).toBeLessThanOrEqual(timers);
  });

  it("a cold session writes its record once it has learned something — not for its server URL alone", async () => {
    const k = await startTestkit();
    kit = k;
    const { store, writes } = countingStore();
    const s = await open(k, store);
    // Watching starts the statechart at a quiet state with nothing learned: nothing to save.
    expect(s.state().value).toBe("unauthorized");
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(writes.sessions).toBe(0);
    expect((await callTool(s, k.mcpUrl, "echo", { text: "cold" })).status).toBe(200);
    await s.close();
    expect(writes.sessions).toBe(1);
    const saved = Option.getOrThrow(await Effect.runPromise(store.loadSession(k.mcpUrl)));
    const record = JSON.parse(saved);
    expect(record.serverUrl).toBe(k.mcpUrl);
    expect(Object.keys(record)).toEqual(
      expect.arrayContaining(["resource", "authServer", "client", "token"]),
    );
  });

  it("a record that no longer decodes is ignored, not trusted: the session starts cold and works", async () => {
    const k = await startTestkit();
    kit = k;
    const store = memoryStore();
    await Effect.runPromise(store.saveSession(k.mcpUrl, '{"format":1,"serverUrl":42}'));
    const s = await open(k, store);
    expect((await callTool(s, k.mcpUrl, "echo", { text: "cold" })).status).toBe(200);
    expect(k.user.authorizations).toBe(1);
  });
});
