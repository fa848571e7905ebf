/**
 * SSRF through discovery: a remote MCP server (https://mcp.hostile.test, routed to loopback by
 * the harness — no traffic leaves the machine) must not make the client request this machine or
 * its private network through `resource_metadata` or `authorization_servers`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { challengeRoute, disposeWorlds, json, startWorld } from "./harness.js";

afterEach(disposeWorlds);

const privateTargets = (loopbackHost: string): Array<[string, string]> => [
  ["127.0.0.1 (this machine)", `http://${loopbackHost}`],
  ["localhost", "http://localhost"],
  ["[::1]", "http://[::1]"],
  ["10.x", "https://10.0.0.7"],
  ["172.16.x", "https://172.16.4.2"],
  ["192.168.x", "https://192.168.1.1"],
  ["169.254.169.254 (cloud metadata, https)", "https://169.254.169.254"],
];

const hostOf = (origin: string) => new URL(origin).host;

describe("SSRF: a remote MCP server pointing discovery at private addresses", () => {
  // The loopback port is known only once a world exists; the names are fixed for the test titles.
  it.each(privateTargets("127.0.0.1:PORT").map(([name]) => [name]))(
    "resource_metadata at %s: typed InsecureUrl and NO request to it",
    async (name) => {
      const w = await startWorld({ remote: true });
      const loopback = hostOf(w.server.origin);
      const target = new Map(privateTargets(loopback)).get(name) ?? "";
      w.route("/mcp", challengeRoute(w, `Bearer resource_metadata="${target}/prm", scope="read"`));
      const out = await w.call();
      const targetHost = new URL(target).host;
      const toTarget = w.records.filter((r) => new URL(r.url).host === targetHost);
      expect(toTarget).toEqual([]);
      expect(w.server.requests.filter((r) => r.path === "/prm")).toHaveLength(0);
      await w.check(out, { maxRequests: 6, expect: { tag: "InsecureUrl" } });
    },
  );

  it.each(privateTargets("127.0.0.1:PORT").map(([name]) => [name]))(
    "authorization_servers names %s: typed InsecureUrl and NO request to it",
    async (name) => {
      const w = await startWorld({ remote: true });
      const loopback = hostOf(w.server.origin);
      const target = new Map(privateTargets(loopback)).get(name) ?? "";
      w.route("/prm", json(200, { resource: w.mcpUrl, authorization_servers: [target] }));
      const out = await w.call();
      const targetHost = new URL(target).host;
      expect(w.records.filter((r) => new URL(r.url).host === targetHost)).toEqual([]);
      expect(
        w.server.requests.filter((r) =>
          r.path.startsWith("/.well-known/oauth-authorization-server"),
        ),
      ).toHaveLength(0);
      await w.check(out, { maxRequests: 6, expect: { tag: "InsecureUrl" } });
    },
  );

  it("resource_metadata at http://169.254.169.254 (cloud metadata over plain http): refused (InsecureUrl) or ignored for the well-known URLs — never requested", async () => {
    const w = await startWorld({ remote: true });
    w.route(
      "/mcp",
      challengeRoute(
        w,
        `Bearer resource_metadata="http://169.254.169.254/latest/meta-data", scope="read"`,
      ),
    );
    w.route(
      "/.well-known/oauth-protected-resource/mcp",
      json(200, {
        resource: w.mcpUrl,
        authorization_servers: [w.issuer],
        scopes_supported: ["read"],
      }),
    );
    const out = await w.call();
    expect(w.records.filter((r) => r.url.includes("169.254.169.254"))).toEqual([]);
    await w.check(out, {
      maxRequests: 12,
      expect: { statusOrTag: { status: 200, tags: ["InsecureUrl"] } },
    });
  });

  it("with http.allowPrivateNetwork (and loopback http allowed) the loopback resource_metadata is used", async () => {
    const w = await startWorld({
      remote: true,
      session: { http: { allowPrivateNetwork: true, allowInsecureLoopback: true } },
    });
    w.route(
      "/prm-local",
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
          "www-authenticate": `Bearer resource_metadata="${w.server.origin}/prm-local", scope="read"`,
        },
      };
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 12, expect: { status: 200 } });
    expect(w.server.requests.filter((r) => r.path === "/prm-local")).toHaveLength(1);
  });

  it("the session's fetch option carries every OAuth request (discovery, registration, token): nothing through globalThis.fetch", async () => {
    const w = await startWorld({ remote: true });
    const out = await w.call();
    await w.check(out, { maxRequests: 12, expect: { status: 200 } });
    expect(w.records.filter((r) => r.via === "global").map((r) => r.url)).toEqual([]);
    const paths = w.records.map((r) => new URL(r.url).pathname);
    expect(paths).toEqual(expect.arrayContaining(["/prm", "/register", "/token"]));
  });
});
