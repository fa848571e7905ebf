/**
 * A request waiting on a flow that a logout stops gets a FlowCancelled of its own: an error value
 * is never shared between two waiters (an application or an error reporter may mark the one it got).
 */
import { startTestkit, type Testkit } from "@authchart/testkit";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createSession } from "../../src/index.js";

const redirectUri = "http://127.0.0.1:33418/callback";
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const pendingThenLogout = async (k: Testkit) => {
  let atBrowser = false;
  const s = await createSession({
    serverUrl: k.mcpUrl,
    client: { clientName: "t", redirectUris: [redirectUri] },
    userAgent: (_prompt, signal) =>
      new Promise((_, reject) => {
        atBrowser = true;
        signal.addEventListener("abort", () => reject(new Error("aborted")));
      }),
  });
  cleanups.push(() => s.close());
  const pending = s.fetch(k.mcpUrl, { method: "POST", body: "{}" }).then(
    () => undefined,
    (e: unknown) => e,
  );
  await vi.waitFor(() => expect(atBrowser).toBe(true), { timeout: 15_000, interval: 20 });
  await s.logout();
  return (await pending) as Error & { _tag?: string; reason?: string };
};

describe("requests cancelled by a logout", () => {
  it("two sessions' requests cancelled by logout get distinct error objects", async () => {
    const k = await startTestkit();
    cleanups.push(() => k.close());
    const a = await pendingThenLogout(k);
    expect(a._tag).toBe("FlowCancelled");
    expect(a.message).toBe("authorization cancelled: the flow stopped");
    // An application annotates the error it got (or an error reporter marks it as captured)...
    (a as unknown as Record<string, unknown>).__sentry_captured__ = true;
    const b = await pendingThenLogout(k);
    expect(b._tag).toBe("FlowCancelled");
    // ...and another session's unrelated cancellation, later, must not be that same object.
    expect(b).not.toBe(a);
    expect((b as unknown as Record<string, unknown>).__sentry_captured__).toBeUndefined();
  }, 60_000);
});
