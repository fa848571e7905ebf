/**
 * Hostile protected-resource metadata (RFC 9728): whatever /prm answers, the application call
 * ends with a typed error (or works), nothing leaks, requests stay bounded.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  deepArray,
  disposeWorlds,
  expectNoRequestsDuring,
  html,
  json,
  rawJson,
  requestsTo,
  startWorld,
  tenMegabytesDeclared,
  tenMegabytesStreamed,
} from "./harness.js";

afterEach(disposeWorlds);

describe("hostile protected-resource metadata", () => {
  it("PRM answers an HTML login page with 200: typed UnexpectedContentType, no authorization", async () => {
    const w = await startWorld();
    w.route("/prm", html());
    const out = await w.call();
    await w.check(out, {
      maxRequests: 6,
      expect: { tag: ["UnexpectedContentType", "ResourceMetadataNotFound"] },
    });
    expect(w.counters.authorizations).toBe(0);
  });

  it("PRM claims JSON but sends garbage: typed MalformedJson", async () => {
    const w = await startWorld();
    w.route("/prm", rawJson(200, "{resource: oops,,"));
    const out = await w.call();
    await w.check(out, { maxRequests: 6, expect: { tag: "MalformedJson" } });
  });

  it("PRM is a JSON array, not an object: typed MalformedJson", async () => {
    const w = await startWorld();
    w.route("/prm", rawJson(200, `["${w.mcpUrl}"]`));
    const out = await w.call();
    await w.check(out, { maxRequests: 6, expect: { tag: ["MalformedJson", "InvalidDocument"] } });
  });

  it("PRM is an array nested 100,000 levels deep: typed error, no stack overflow", async () => {
    const w = await startWorld();
    w.route("/prm", rawJson(200, deepArray(100_000)));
    const out = await w.call();
    await w.check(out, {
      maxRequests: 6,
      expect: { tag: ["MalformedJson", "InvalidDocument", "ResponseTooLarge"] },
    });
  });

  it("PRM streams 10 MB without content-length: typed ResponseTooLarge", async () => {
    const w = await startWorld();
    w.route("/prm", tenMegabytesStreamed());
    const out = await w.call();
    await w.check(out, { maxRequests: 6, expect: { tag: "ResponseTooLarge" } });
  });

  it("PRM declares and sends 10 MB: typed ResponseTooLarge (refused on content-length)", async () => {
    const w = await startWorld();
    w.route("/prm", tenMegabytesDeclared());
    const out = await w.call();
    await w.check(out, { maxRequests: 6, expect: { tag: "ResponseTooLarge" } });
  });

  it("PRM names another resource: typed ResourceMismatch, no authorization", async () => {
    const w = await startWorld({ prm: { resource: "https://evil.example/mcp" } });
    const out = await w.call();
    await w.check(out, { maxRequests: 6, expect: { tag: "ResourceMismatch" } });
    expect(w.counters.authorizations).toBe(0);
  });

  it("PRM redirects elsewhere: typed UnexpectedRedirect, the redirect is not followed", async () => {
    const w = await startWorld();
    w.route("/prm", { status: 302, headers: { location: "/elsewhere-prm" } });
    w.route("/elsewhere-prm", json(200, { resource: w.mcpUrl, authorization_servers: [w.issuer] }));
    const out = await w.call();
    await w.check(out, { maxRequests: 6, expect: { tag: "UnexpectedRedirect" } });
    expect(requestsTo(w, "/elsewhere-prm")).toHaveLength(0);
  });

  it("PRM lists no authorization server: typed NoAuthorizationServer", async () => {
    const w = await startWorld({ prm: { authorization_servers: [] } });
    const out = await w.call();
    await w.check(out, { maxRequests: 6, expect: { tag: "NoAuthorizationServer" } });
  });

  it.each([
    ["javascript:", "javascript:alert(1)"],
    ["file:", "file:///etc/passwd"],
  ])("PRM names a %s authorization server: typed InsecureUrl, nothing contacted", async (_, as) => {
    const w = await startWorld({ prm: { authorization_servers: [as] } });
    const out = await w.call();
    await w.check(out, { maxRequests: 4, expect: { tag: ["InsecureUrl", "InvalidDocument"] } });
    expect(w.counters.authorizations).toBe(0);
  });

  it("PRM scopes_supported are Object.prototype names (challenge without scope): no crash, typed error or success", async () => {
    const w = await startWorld({
      challenge: `resource_metadata="{base}/prm"`,
      prm: {
        scopes_supported: ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"],
      },
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 12, expect: "anything-typed" });
  });

  it("PRM scopes_supported lists 10,000 scopes: typed error or a bounded request, messages < 4 KB", async () => {
    const scopes = Array.from({ length: 10_000 }, (_, i) => `scope:${i}`);
    const w = await startWorld({
      challenge: `resource_metadata="{base}/prm"`,
      prm: { scopes_supported: scopes },
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 12, expect: "anything-typed" });
  });

  it("resource_metadata with userinfo on loopback (http://user:pw@host/prm): ignored, never fetched; the well-known URL is probed", async () => {
    const w = await startWorld();
    const origin = new URL(w.server.origin);
    w.route("/mcp-prm-userinfo", json(500, { error: "must not be fetched" }));
    w.route(
      "/.well-known/oauth-protected-resource/mcp",
      json(200, {
        resource: w.mcpUrl,
        authorization_servers: [w.issuer],
        scopes_supported: ["read"],
      }),
    );
    w.route("/mcp", (req) => {
      const auth = String(req.headers.authorization ?? "");
      if (w.validTokens.has(auth.slice(7))) return json(200, { ok: true });
      return {
        status: 401,
        headers: {
          "www-authenticate": `Bearer resource_metadata="http://user:pw@${origin.host}/mcp-prm-userinfo", scope="read"`,
        },
      };
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 12, expect: { status: 200 } });
    expect(w.server.requests.filter((r) => r.path === "/mcp-prm-userinfo")).toHaveLength(0);
    expect(requestsTo(w, "/.well-known/oauth-protected-resource/mcp").length).toBeGreaterThan(0);
  });
});

describe("hostile protected-resource metadata: retryable failures and the cool-down", () => {
  it("PRM answers 503: typed error; an immediate second call fails the same way with no OAuth request", async () => {
    const w = await startWorld();
    w.route("/prm", json(503, { error: "temporarily_unavailable" }));
    const first = await w.call();
    const second = await expectNoRequestsDuring(w, () => w.call());
    expect((second as { error?: { _tag?: string } }).error?._tag).toBe(
      (first as { error?: { _tag?: string } }).error?._tag,
    );
    await w.check([first, second], { maxRequests: 4, expect: { tag: "UnexpectedStatus" } });
  });

  it("PRM hangs past the timeout: typed RequestTimeout; an immediate second call makes no OAuth request", async () => {
    const w = await startWorld({ session: { http: { timeoutMillis: 1_500 } } });
    w.route("/prm", { hang: true });
    const first = await w.call();
    const second = await expectNoRequestsDuring(w, () => w.call());
    await w.check([first, second], { maxRequests: 4, expect: { tag: "RequestTimeout" } });
  });

  it("PRM answers 503 once, with retryCooldownMillis 200: a later call retries and succeeds", async () => {
    const w = await startWorld({ session: { config: { retryCooldownMillis: 200 } } });
    let failures = 1;
    w.route("/prm", () =>
      failures-- > 0
        ? json(503, { error: "temporarily_unavailable" })
        : json(200, {
            resource: w.mcpUrl,
            authorization_servers: [w.issuer],
            scopes_supported: ["read"],
          }),
    );
    const first = await w.call();
    expect(first.kind).toBe("error");
    await new Promise((resolve) => setTimeout(resolve, 450));
    const second = await w.call();
    expect(second).toMatchObject({ kind: "response", status: 200 });
    await w.check(first, { maxRequests: 16, expect: { tag: "UnexpectedStatus" } });
  });
});
