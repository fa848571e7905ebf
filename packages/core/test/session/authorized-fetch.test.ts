/**
 * The warm request path of a restored session, over a fetch answered from memory: the bearer only
 * on the protected origin across a redirect chain (RFC 6750 §5.3), the caller's init fields and
 * headers kept, nothing cached sent after a logout.
 */
import { Effect, Redacted, Schema } from "effect";
import { describe, expect, it } from "vitest";
import { createSession } from "../../src/index.js";
import { PersistedSession } from "../../src/internals.js";
import {
  CredentialStore,
  type CredentialStoreService,
} from "../../src/services/credential-store.js";

const serverUrl = "http://127.0.0.1:9/mcp";
const redirectUri = "http://127.0.0.1:33418/callback";

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  init: RequestInit;
}

const seeded = async (
  routes: (url: string, init: RequestInit) => Response,
  token = "tok-1",
  tokenType = "Bearer",
) => {
  const store: CredentialStoreService = Effect.runSync(
    Effect.provide(CredentialStore, CredentialStore.layerMemory),
  );
  const now = Date.now();
  const key = { resource: serverUrl, issuer: "https://as.example", clientId: "client-1" };
  await Effect.runPromise(
    store.saveTokens({
      key,
      accessToken: Redacted.make(token),
      tokenType,
      scopes: [],
      obtainedAt: now,
      version: 1,
      expiresAt: now + 3_600_000,
    }),
  );
  const persisted = Schema.encodeSync(PersistedSession)({
    format: 1,
    serverUrl,
    savedAt: now,
    token: {
      ...key,
      version: 1,
      scopes: [],
      expiresAt: now + 3_600_000,
      hasRefreshToken: false,
      obtainedAt: now,
      obtainedBy: "authorization",
    },
  });
  await Effect.runPromise(store.saveSession(serverUrl, JSON.stringify(persisted)));
  const seen: Seen[] = [];
  const session = await createSession({
    serverUrl,
    store,
    client: { clientName: "t", redirectUris: [redirectUri] },
    fetch: async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((v, k) => {
        headers[k] = v;
      });
      seen.push({ url, method: init?.method ?? "GET", headers, init: { ...init } });
      return routes(url, init ?? {});
    },
  });
  return { session, seen, store };
};

const redirect = (status: number, location: string) =>
  new Response(null, { status, headers: { location } });

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
