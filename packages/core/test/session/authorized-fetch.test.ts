/**
 * The warm request path of a restored session, over a fetch answered from memory: the bearer only
 * on the protected origin across a redirect chain (RFC 6750 §5.3), the caller's init fields and
 * headers kept, nothing cached sent after a logout.
 */
import { describe, expect, it } from "vitest";
import { redirect, seeded, serverUrl } from "./restored-support.js";

describe("session.fetch of a restored session", () => {
  it("redirect chain: protected → other origin → back; bearer only on the protected origin; 303 → GET", async () => {
    const { session, seen } = await seeded((url) => {
      if (url === serverUrl) return redirect(307, "https://other.example/a");
      if (url === "https://other.example/a") return redirect(303, "http://127.0.0.1:9/back");
      if (url === "http://127.0.0.1:9/back") return new Response("ok");
      return new Response("?", { status: 404 });
    });
    const r = await session.fetch(serverUrl, {
      method: "POST",
      body: "x",
      headers: { "content-type": "text/plain", AUTHORIZATION: "Basic caller", DpOp: "caller" },
      keepalive: true,
      credentials: "include",
      mode: "cors",
      // @ts-expect-error undici field
      dispatcher: "D",
    });
    expect(r.status).toBe(200);
    expect(seen.map((s) => [s.url, s.method, s.headers.authorization, s.headers.dpop])).toEqual([
      [serverUrl, "POST", "Bearer tok-1", undefined],
      ["https://other.example/a", "POST", undefined, undefined],
      ["http://127.0.0.1:9/back", "GET", "Bearer tok-1", undefined],
    ]);
    for (const s of seen) {
      expect(s.init.keepalive).toBe(true);
      expect(s.init.credentials).toBe("include");
      expect(s.init.mode).toBe("cors");
      expect((s.init as { dispatcher?: unknown }).dispatcher).toBe("D");
      expect(s.init.redirect).toBe("manual");
      expect(s.headers["user-agent"]).toBeDefined();
    }
    expect(seen[2]?.init.body ?? null).toBeNull();
    await session.close();
  });

  it("a 303 turns a POST into a GET without its body headers, but a HEAD stays a HEAD (Fetch standard, HTTP-redirect fetch)", async () => {
    const { session, seen } = await seeded((url) =>
      url === serverUrl ? redirect(303, "http://127.0.0.1:9/after") : new Response(null),
    );
    const headers = { "content-type": "text/plain", "content-language": "en", "x-kept": "1" };
    await session.fetch(serverUrl, { method: "POST", body: "x", headers });
    await session.fetch(serverUrl, { method: "HEAD", headers });
    expect(seen.map((s) => [s.method, s.headers["content-type"], s.headers["x-kept"]])).toEqual([
      ["POST", "text/plain", "1"],
      ["GET", undefined, "1"],
      ["HEAD", "text/plain", "1"],
      ["HEAD", "text/plain", "1"],
    ]);
    await session.close();
  });

  it("caller's User-Agent wins; a symbol-keyed init field is passed on as before (spread)", async () => {
    const sym = Symbol("x");
    const { session, seen } = await seeded(() => new Response("ok"));
    await session.fetch(serverUrl, { headers: { "USER-agent": "mine" }, [sym]: 1 } as RequestInit);
    expect(seen[0]?.headers["user-agent"]).toBe("mine");
    expect(seen[0]?.headers.authorization).toBe("Bearer tok-1");
    expect((seen[0]?.init as Record<symbol, unknown> | undefined)?.[sym]).toBe(1);
    await session.close();
  });

  it("other origins pass through untouched", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    await session.fetch("http://127.0.0.2:9/mcp", { headers: { authorization: "mine" } });
    expect(seen[0]?.headers.authorization).toBe("mine");
    await session.close();
  });

  it("after logout no cached bearer is sent", async () => {
    const { session, seen } = await seeded((_url, init) =>
      new Headers(init.headers).has("authorization")
        ? new Response("ok")
        : new Response("no", { status: 401, headers: { "www-authenticate": "Bearer" } }),
    );
    await session.fetch(serverUrl);
    expect(seen[0]?.headers.authorization).toBe("Bearer tok-1");
    await session.logout().catch(() => undefined);
    const ctrl = new AbortController();
    const p = session.fetch(serverUrl, { signal: ctrl.signal }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    ctrl.abort();
    await p.catch(() => undefined);
    const after = seen.slice(1).filter((s) => s.url === serverUrl);
    for (const s of after) expect(s.headers.authorization).toBeUndefined();
    await session.close();
  });
});
