/**
 * Whose fault a failure is, against servers that misbehave (testkit's scripted server): a URL the
 * user typed that this client will not contact is a usage error (exit 2, "use https"); one a
 * server's documents named is the server's configuration (exit 4, tell its operator). A tool the
 * server does not have is the name the user gave (exit 2, see `authchart tools`), however the
 * server says so. A URL with nothing of OAuth (a static web server) is said to be one, not a
 * network failure.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  type ScriptedRequest,
  type ScriptedResponse,
  type ScriptedServer,
  startScriptedServer,
} from "@authchart/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support.js";

let configDir: string;
let server: ScriptedServer | undefined;
beforeAll(async () => {
  configDir = await mkdtemp(path.join(tmpdir(), "authchart-cli-faults-"));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(async () => {
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

const json = (body: unknown): ScriptedResponse => ({
  status: 200,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

/** An MCP server at /mcp protected by an authorization server on the same origin. */
const protectedServer = async (options: {
  readonly authorizationServers?: (origin: string) => readonly string[];
  readonly asMetadata?: (origin: string) => Record<string, unknown>;
}) => {
  const scripted = await startScriptedServer();
  server = scripted;
  const origin = scripted.origin;
  scripted.route("/mcp", {
    status: 401,
    headers: { "www-authenticate": `Bearer resource_metadata="${origin}/prm"` },
    body: "",
  });
  scripted.route(
    "/prm",
    json({
      resource: `${origin}/mcp`,
      authorization_servers: options.authorizationServers?.(origin) ?? [origin],
    }),
  );
  scripted.route(
    "/.well-known/oauth-authorization-server",
    json({
      issuer: origin,
      authorization_endpoint: `${origin}/authorize`,
      token_endpoint: `${origin}/token`,
      registration_endpoint: `${origin}/register`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
      ...options.asMetadata?.(origin),
    }),
  );
  return `${origin}/mcp`;
};

describe("a URL this client will not contact", () => {
  it("typed by the user (plain http outside loopback): exit 2, use https", async () => {
    const run = await runCli(["login", "http://mcp.example.com/mcp", "--json"], { configDir });
    expect(run.code, run.stdout).toBe(2);
    expect(JSON.parse(run.stdout).error).toMatchObject({
      tag: "InsecureUrl",
      hint: expect.stringContaining("use https"),
    });
  });

  it("named by the authorization server's metadata (authorization_endpoint javascript:): exit 4, the server's configuration", async () => {
    const url = await protectedServer({
      asMetadata: () => ({ authorization_endpoint: "javascript:alert(1)//" }),
    });
    const run = await runCli(["login", url, "--headless"], { configDir });
    expect(run.code, run.stderr).toBe(4);
    expect(run.stderr).toContain("refusing to contact javascript:alert(1)//");
    expect(run.stderr).toMatch(/next: the server's configuration is at fault/);
    expect(run.stderr).not.toContain("Open this address");
  });

  it("named by the protected-resource metadata (an http authorization server off loopback): exit 4", async () => {
    const url = await protectedServer({ authorizationServers: () => ["http://as.example.com"] });
    const run = await runCli(["tools", url, "--json"], { configDir });
    expect(run.code, run.stdout).toBe(4);
    expect(JSON.parse(run.stdout).error).toMatchObject({
      tag: "InsecureUrl",
      hint: expect.stringContaining("the server's configuration is at fault"),
      exitCode: 4,
    });
  });
});

/**
 * An MCP server without authorization over Streamable HTTP (JSON answers) with one tool, `echo`,
 * that answers a call of any other tool with a JSON-RPC error, as servers other than SDK 1.x's do.
 */
const jsonRpcServer = async () => {
  const scripted = await startScriptedServer();
  server = scripted;
  scripted.route("/mcp", (req: ScriptedRequest): ScriptedResponse => {
    if (req.method !== "POST") return { status: 405, body: "" };
    const message = JSON.parse(req.body) as {
      id?: number;
      method: string;
      params?: { name?: string };
    };
    if (message.id === undefined) return { status: 202, body: "" };
    const answer = (body: Record<string, unknown>) =>
      json({ jsonrpc: "2.0", id: message.id, ...body });
    switch (message.method) {
      case "initialize":
        return answer({
          result: {
            protocolVersion: "2025-06-18",
            capabilities: { tools: {} },
            serverInfo: { name: "scripted", version: "1" },
          },
        });
      case "tools/list":
        return answer({
          result: { tools: [{ name: "echo", inputSchema: { type: "object" } }] },
        });
      case "tools/call":
        return message.params?.name === "echo"
          ? answer({ error: { code: -32603, message: "echo broke" } })
          : answer({ error: { code: -32602, message: "Invalid params" } });
      default:
        return answer({ error: { code: -32601, message: "Method not found" } });
    }
  });
  return `${scripted.origin}/mcp`;
};

describe("a tool the server does not have, answered with a JSON-RPC error", () => {
  it("not in the server's tool list: exit 2, UnknownTool, pointing to `authchart tools`", async () => {
    const url = await jsonRpcServer();
    const run = await runCli(["call", url, "nosuchtool", "--json"], { configDir });
    expect(run.code, run.stdout).toBe(2);
    expect(JSON.parse(run.stdout).error).toMatchObject({
      tag: "UnknownTool",
      hint: expect.stringContaining("authchart tools <url>"),
    });
  });

  it("a tool it has, whose call fails: the server's error as it was (exit 4)", async () => {
    const url = await jsonRpcServer();
    const run = await runCli(["call", url, "echo", "--json"], { configDir });
    expect(run.code, run.stdout).toBe(4);
    expect(JSON.parse(run.stdout).error).toMatchObject({ tag: "McpRequestFailed" });
  });
});

/** A static file server as `python3 -m http.server` answers: a page at /, 404 elsewhere, 501 to a POST. */
const staticServer = async (): Promise<{
  readonly url: string;
  readonly close: () => Promise<void>;
}> => {
  const http: Server = createServer((req, res) => {
    const page = (status: number, body: string) => {
      res.writeHead(status, { "content-type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><title>${status}</title>${body}`);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return page(501, "Unsupported method");
    return req.url === "/" ? page(200, "a web page") : page(404, "File not found");
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const address = http.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
};

describe("a URL that is no OAuth-protected MCP server", () => {
  it("login to a static web server: exit 4, it does not look like an OAuth-protected MCP server (not 'check the network')", async () => {
    const site = await staticServer();
    try {
      const run = await runCli(["login", site.url, "--headless"], { configDir });
      expect(run.code, run.stderr).toBe(4);
      expect(run.stderr).toContain(
        `error ${site.url} does not look like an OAuth-protected MCP server: it publishes no protected-resource metadata`,
      );
      expect(run.stderr).toContain("no 401 challenge pointed to any");
      expect(run.stderr).toMatch(/register answered 501/);
      expect(run.stderr).toContain("next: check the URL");
      expect(run.stderr).not.toContain("check the network");
      const json = await runCli(["login", site.url, "--headless", "--json"], { configDir });
      expect(JSON.parse(json.stdout).error).toMatchObject({
        tag: "NotOAuthProtected",
        exitCode: 4,
      });
    } finally {
      await site.close();
    }
  });
});
