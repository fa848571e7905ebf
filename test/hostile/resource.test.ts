/**
 * A hostile resource server (the MCP endpoint): challenges naming Object.prototype members,
 * garbage WWW-Authenticate headers, oversized scopes, a resource that rejects every token, a
 * resource that is not there.
 */
import { afterEach, describe, expect, it } from "vitest";
import { challengeRoute, disposeWorlds, json, prototypeNames, startWorld } from "./harness.js";

afterEach(disposeWorlds);

describe("hostile resource: challenges colliding with Object.prototype", () => {
  it.each(prototypeNames)(
    '401 challenge scope="%s": no crash, no hang — typed error or success',
    async (scope) => {
      const w = await startWorld({ challenge: `resource_metadata="{base}/prm", scope="${scope}"` });
      const out = await w.call();
      await w.check(out, { maxRequests: 12, expect: "anything-typed" });
    },
  );

  it.each(prototypeNames)(
    '403 insufficient_scope scope="%s" on an authorized session: typed error or success, bounded',
    async (scope) => {
      const w = await startWorld();
      let stepUps = 0;
      w.route("/mcp", (req) => {
        const auth = String(req.headers.authorization ?? "");
        if (!w.validTokens.has(auth.slice(7)))
          return { status: 401, headers: { "www-authenticate": w.challengeHeader() } };
        if (stepUps++ > 0) return json(200, { ok: true });
        return {
          status: 403,
          headers: {
            "www-authenticate": `Bearer error="insufficient_scope", scope="${scope}", resource_metadata="${w.base}/prm"`,
          },
        };
      });
      const out = await w.call();
      await w.check(out, { maxRequests: 16, expect: "anything-typed" });
    },
  );
});

describe("hostile resource: WWW-Authenticate garbage", () => {
  it("an unterminated quoted string: typed error or fallback discovery, no crash", async () => {
    const w = await startWorld();
    w.route("/mcp", challengeRoute(w, `Bearer resource_metadata="${w.base}/prm, scope="read`));
    w.route(
      "/.well-known/oauth-protected-resource/mcp",
      json(200, { resource: w.mcpUrl, authorization_servers: [w.issuer] }),
    );
    const out = await w.call();
    await w.check(out, { maxRequests: 12, expect: "anything-typed" });
  });

  it("a 64 KB WWW-Authenticate header: typed error or success, messages < 4 KB", async () => {
    const w = await startWorld();
    w.route(
      "/mcp",
      challengeRoute(
        w,
        `Bearer realm="${"r".repeat(64 * 1024)}", resource_metadata="${w.base}/prm"`,
      ),
    );
    const out = await w.call();
    await w.check(out, { maxRequests: 12, expect: "anything-typed" });
  });

  it("a 50 KB scope in the challenge: InvalidChallenge or a bounded authorization, messages < 4 KB", async () => {
    const w = await startWorld({
      challenge: `resource_metadata="{base}/prm", scope="${"s".repeat(50 * 1024)}"`,
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 12, expect: "anything-typed" });
  });

  it("a challenge with 5,000 scopes: typed error or a bounded authorization", async () => {
    const scopes = Array.from({ length: 5_000 }, (_, i) => `s${i}`).join(" ");
    const w = await startWorld({ challenge: `resource_metadata="{base}/prm", scope="${scopes}"` });
    const out = await w.call();
    await w.check(out, { maxRequests: 12, expect: "anything-typed" });
  });

  it("a 401 with a non-Bearer scheme only (Basic realm) (no resource_metadata): well-known or legacy discovery, or a typed error — bounded", async () => {
    const w = await startWorld();
    w.route("/mcp", challengeRoute(w, 'Basic realm="x"'));
    const out = await w.call();
    await w.check(out, { maxRequests: 12, expect: "anything-typed" });
  });
});

describe("hostile resource: tokens refused, server gone", () => {
  it("rejects every token with 401: bounded authorizations, typed AuthorizationLoop", async () => {
    const w = await startWorld();
    w.route("/mcp", { status: 401, headers: { "www-authenticate": w.challengeHeader() } });
    const out = await w.call();
    await w.check(out, {
      maxRequests: 40,
      expect: { tag: ["AuthorizationLoop", "TokenRejected"] },
    });
    expect(w.counters.authorizations).toBeLessThanOrEqual(4);
  });

  it("403 without insufficient_scope: handed back as is, no authorization after the first", async () => {
    const w = await startWorld();
    w.route("/mcp", (req) => {
      const auth = String(req.headers.authorization ?? "");
      if (!w.validTokens.has(auth.slice(7)))
        return { status: 401, headers: { "www-authenticate": w.challengeHeader() } };
      return { status: 403, headers: { "www-authenticate": 'Bearer error="invalid_token"' } };
    });
    const out = await w.call();
    await w.check(out, {
      maxRequests: 12,
      expect: { statusOrTag: { status: 403, tags: ["AccessForbidden"] } },
    });
    expect(w.counters.authorizations).toBe(1);
  });

  it("the MCP origin refuses connections: session.fetch rejects with a typed TransportError", async () => {
    const w = await startWorld();
    await w.server.close();
    const gone = await w.call();
    await w.check(gone, { maxRequests: 6, expect: { tag: "TransportError" } });
  });
});
