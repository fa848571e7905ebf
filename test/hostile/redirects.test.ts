/**
 * Redirects on the protected resource: the bearer never crosses to another origin, comes back
 * when the chain returns to the MCP origin, a 401 at the end of a chain is attributed to the
 * right origin, and redirect loops end.
 */
import { type ScriptedRequest, startScriptedServer } from "@authchart/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { disposeWorlds, json, onDispose, startWorld, type World } from "./harness.js";

afterEach(disposeWorlds);

const otherOrigin = async () => {
  const seen: Array<string | undefined> = [];
  const other = await startScriptedServer({}, { host: "localhost" });
  onDispose(() => other.close());
  return { other, seen };
};

const protectedFinal = (w: World) => (req: ScriptedRequest) => {
  const auth = String(req.headers.authorization ?? "");
  if (w.validTokens.has(auth.slice(7))) return json(200, { ok: true });
  return { status: 401, headers: { "www-authenticate": w.challengeHeader() } };
};

describe("redirect chains on the MCP endpoint", () => {
  it("MCP → other origin → back to MCP ending 401: one authorization, the bearer re-attached on the final hop, never sent to the other origin", async () => {
    const w = await startWorld();
    const { other, seen } = await otherOrigin();
    other.route("/bounce", (req) => {
      seen.push(req.headers.authorization as string | undefined);
      return { status: 307, headers: { location: `${w.server.origin}/mcp-final` } };
    });
    w.route("/mcp", { status: 307, headers: { location: `${other.origin}/bounce` } });
    const finalAuth: string[] = [];
    const final = protectedFinal(w);
    w.route("/mcp-final", (req) => {
      finalAuth.push(String(req.headers.authorization ?? ""));
      return final(req);
    });
    const out = await w.call();
    await w.check(out, { maxRequests: 16, expect: { status: 200 } });
    expect(seen.every((auth) => auth === undefined)).toBe(true);
    expect(finalAuth.at(-1)).toMatch(/^Bearer AT-/);
    expect(w.counters.authorizations).toBe(1);
    expect(w.counters.tokenRequests).toBe(1);
  });

  it("an authorized session whose chain MCP → other → MCP ends 200: no refresh, no re-authorization", async () => {
    const w = await startWorld();
    const { other } = await otherOrigin();
    const warm = await w.call();
    expect(warm).toMatchObject({ status: 200 });
    other.route("/bounce", { status: 302, headers: { location: `${w.server.origin}/mcp-final` } });
    w.route("/mcp-chain", { status: 302, headers: { location: `${other.origin}/bounce` } });
    w.route("/mcp-final", protectedFinal(w));
    const outcomes = [
      await w.call({ url: `${w.mcpUrl}-chain` }),
      await w.call({ url: `${w.mcpUrl}-chain` }),
    ];
    await w.check([warm, ...outcomes], { maxRequests: 16, expect: { status: 200 } });
    expect(w.counters.tokenRequests).toBe(1);
    expect(w.counters.authorizations).toBe(1);
  });

  it("MCP redirects to another origin that answers 401 with its own resource_metadata: handed back, no discovery there", async () => {
    const w = await startWorld();
    const { other } = await otherOrigin();
    other.route("/challenge", {
      status: 401,
      headers: { "www-authenticate": `Bearer resource_metadata="${other.origin}/prm"` },
    });
    other.route(
      "/prm",
      json(200, { resource: `${other.origin}/challenge`, authorization_servers: [other.origin] }),
    );
    w.route("/mcp", { status: 302, headers: { location: `${other.origin}/challenge` } });
    const out = await w.call();
    await w.check(out, { maxRequests: 6, expect: { status: 401 } });
    expect(other.requests.map((r) => r.path)).not.toContain("/prm");
    expect(w.counters.authorizations).toBe(0);
  });

  it("the MCP endpoint redirects to itself forever: the call ends after a bounded number of hops", async () => {
    const w = await startWorld();
    w.route("/mcp", { status: 302, headers: { location: "/mcp" } });
    const out = await w.call();
    await w.check(out, { maxRequests: 25, expect: "anything-typed" });
  });

  it("the MCP endpoint bounces between two origins forever: bounded, and the bearer never leaves", async () => {
    const w = await startWorld();
    const { other } = await otherOrigin();
    const warm = await w.call();
    other.route("/ping", { status: 307, headers: { location: `${w.server.origin}/mcp-pong` } });
    w.route("/mcp-pong", { status: 307, headers: { location: `${other.origin}/ping` } });
    const out = await w.call({ url: `${w.mcpUrl}-pong` });
    await w.check([warm, out], { maxRequests: 40, expect: "anything-typed" });
  });
});
