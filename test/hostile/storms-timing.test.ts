/**
 * Storms (many concurrent calls) and timing (slow, silent servers; a user who takes long): one
 * refresh for a burst, bounded step-ups, cancellation that stops only what it should.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { disposeWorlds, json, type Outcome, random, startWorld } from "./harness.js";

afterEach(disposeWorlds);

describe("storms", () => {
  it("100 concurrent calls on a token the resource stopped accepting (401 storm): exactly 1 refresh, all succeed", async () => {
    const w = await startWorld();
    const warm = await w.call();
    expect(warm).toMatchObject({ status: 200 });
    w.validTokens.clear();
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => w.call()));
    await w.check([warm, ...outcomes], { maxRequests: 6 + 2 * 100 + 4, expect: { status: 200 } });
    expect(w.counters.refreshRequests).toBe(1);
    expect(w.counters.authorizations).toBe(1);
  });

  it("100 concurrent cold calls: one discovery, one registration, one authorization, one code exchange", async () => {
    const w = await startWorld();
    const outcomes = await Promise.all(Array.from({ length: 100 }, () => w.call()));
    await w.check(outcomes, { maxRequests: 6 + 2 * 100, expect: { status: 200 } });
    expect(w.counters.registrations).toBe(1);
    expect(w.counters.authorizations).toBe(1);
    expect(w.counters.tokenRequests).toBe(1);
  });

  it("403 insufficient_scope asking for a brand-new scope every time: bounded authorizations, typed AuthorizationLoop", async () => {
    const w = await startWorld();
    w.route("/mcp", (req) => {
      const auth = String(req.headers.authorization ?? "");
      if (!w.validTokens.has(auth.slice(7)))
        return { status: 401, headers: { "www-authenticate": w.challengeHeader() } };
      return {
        status: 403,
        headers: {
          "www-authenticate": `Bearer error="insufficient_scope", scope="s-${random(4)}", resource_metadata="${w.base}/prm"`,
        },
      };
    });
    const outcomes: Outcome[] = [];
    for (let i = 0; i < 3; i++) outcomes.push(await w.call());
    await w.check(outcomes, {
      maxRequests: 80,
      expect: { tag: ["AuthorizationLoop", "ScopeDeclined"] },
    });
    expect(w.counters.authorizations).toBeLessThanOrEqual(11);
  });

  it("50 concurrent calls while the token endpoint fails with 500: one flow, every call a typed error, bounded", async () => {
    const w = await startWorld({ token: () => json(500, { error: "server_error" }) });
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => w.call()));
    await w.check(outcomes, {
      maxRequests: 6 + 50 + 4,
      expect: { tag: ["TokenEndpointFailed", "TokenRejected"] },
    });
    expect(w.counters.tokenRequests).toBeLessThanOrEqual(2);
  });
});

describe("timing", () => {
  it("a slow token endpoint (800 ms): the call waits and succeeds", async () => {
    const w = await startWorld({
      token: ({ standard }) => ({ ...standard, delayMs: 800 }),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 10, expect: { status: 200 } });
  });

  it("a silent MCP endpoint (hangs after authorization): the caller's AbortSignal ends the call", async () => {
    const w = await startWorld();
    const warm = await w.call();
    w.route("/mcp", { hang: true });
    const out = await w.call({ signal: AbortSignal.timeout(500) });
    expect(warm).toMatchObject({ status: 200 });
    await w.check(out, { maxRequests: 8, expect: { aborted: true } });
  });

  it("a user who never finishes the browser step: typed AuthorizationTimeout after authorizationTimeoutMillis", async () => {
    const w = await startWorld({
      session: { config: { authorizationTimeoutMillis: 600 } },
      callback: (_p, signal) =>
        new Promise<string>((_, reject) =>
          signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }),
        ),
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 8, expect: { tag: "AuthorizationTimeout" } });
  });

  it("aborting a request that waits on an interactive login rejects only it; the flow continues and the next request uses its result (one authorization)", async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const w = await startWorld({
      callback: async (p) => {
        await gate;
        return p.callback;
      },
    });
    const controller = new AbortController();
    const waiting = w.call({ signal: controller.signal });
    // Until the login has started (a fixed sleep is a guess on a loaded machine).
    await vi.waitFor(() => expect(w.counters.authorizations).toBe(1), {
      timeout: 15_000,
      interval: 20,
    });
    controller.abort();
    const aborted = await waiting;
    expect(aborted.kind).toBe("error");
    expect((aborted as { error?: { name?: string } }).error?.name).toBe("AbortError");
    const next = w.call();
    await new Promise((resolve) => setTimeout(resolve, 100));
    release?.();
    const done = await next;
    expect(done).toMatchObject({ kind: "response", status: 200 });
    expect(w.counters.authorizations).toBe(1);
    expect(w.counters.tokenRequests).toBe(1);
    await w.check(done, { maxRequests: 12, expect: { status: 200 } });
  });

  it("session.cancel() stops a flow waiting on the user: waiting calls reject typed, the user agent is aborted", async () => {
    let aborted = false;
    const w = await startWorld({
      callback: (_p, signal) =>
        new Promise<string>((_, reject) =>
          signal.addEventListener(
            "abort",
            () => {
              aborted = true;
              reject(new Error("aborted"));
            },
            { once: true },
          ),
        ),
    });
    const waiting = w.call();
    await vi.waitFor(() => expect(w.counters.authorizations).toBe(1), {
      timeout: 15_000,
      interval: 20,
    });
    const cancel = (w.session as unknown as { cancel?: () => unknown }).cancel;
    expect(typeof cancel).toBe("function");
    await cancel?.call(w.session);
    const out = await waiting;
    await w.check(out, { maxRequests: 8, expect: { tag: ["FlowCancelled", "UserAgentFailed"] } });
    expect(aborted).toBe(true);
  });

  it("close() while discovery hangs: the waiting call rejects typed FlowCancelled, close resolves", async () => {
    const w = await startWorld();
    w.route("/prm", { hang: true });
    const waiting = w.call();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await w.session.close();
    const out = await waiting;
    await w.check(out, { maxRequests: 6, expect: { tag: "FlowCancelled" } });
  });
});
