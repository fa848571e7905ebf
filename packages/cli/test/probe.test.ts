/**
 * `authchart probe <url>` as a user runs it (a child process): against the testkit's real
 * servers (oidc-provider and the MCP SDK: no pitfall, exit 0) and against misconfigured ones
 * (each pitfall named with its evidence, exit 6; with --fail-on error, only for an error), with
 * --json and --html; a bad URL exits 2, a server that cannot be reached 4. No secret in any
 * output.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  type Misconfiguration,
  type MisconfiguredServer,
  startMisconfiguredServer,
  startScriptedServer,
  startTestkit,
} from "@authchart/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANSI, runCli } from "./support.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "authchart-cli-probe-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const withServer = async <T>(
  knobs: Misconfiguration,
  use: (server: MisconfiguredServer) => Promise<T>,
): Promise<T> => {
  const server = await startMisconfiguredServer(knobs);
  try {
    return await use(server);
  } finally {
    await server.close();
  }
};

interface JsonPitfall {
  readonly id: string;
  readonly severity: string;
  readonly summary: string;
  readonly evidence: readonly { url: string; status?: number; location?: string; value?: string }[];
  readonly see: string;
}

describe("authchart probe", () => {
  it.concurrent("the testkit's real servers: what they advertise, no pitfall, exit 0", async () => {
    const kit = await startTestkit({ mcp: { challengeScope: ["mcp:read"] } });
    try {
      const run = await runCli(["probe", kit.mcpUrl], { configDir: dir });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`probe ${kit.mcpUrl}`);
      expect(run.stdout).toMatch(/without a token\s+401, Bearer challenge, scope "mcp:read"/);
      expect(run.stdout).toMatch(/PKCE methods\s+S256/);
      expect(run.stdout).toContain(`dynamic: ${kit.issuer}/register`);
      expect(run.stdout).toContain("no pitfalls found");
      expect(run.stdout).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/mcp → 401/);
      expect(run.stdout).not.toMatch(ANSI);
    } finally {
      await kit.close();
    }
  });

  // Every misconfiguration is probed in-process by core's test/check/discover.test.ts; here, the
  // command's --json document for a server with several at once.
  it.concurrent("--json: the report's documented shape, each pitfall with its evidence, exit 6", async () => {
    await withServer(
      { issuer: "other", metadataRedirect: true, challengeScope: "files:read" },
      async (server) => {
        const origin = new URL(server.url).origin;
        const run = await runCli(["probe", server.url, "--json"], { configDir: dir });
        expect(run.code, run.stderr).toBe(6);
        const report = JSON.parse(run.stdout);
        expect(report).toMatchObject({
          ok: true,
          schema: "authchart.probe/1",
          server: server.url,
          verdict: "pitfalls",
          advertised: {
            challenge: { status: 401, protected: true, scheme: "Bearer", scope: ["files:read"] },
            resourceMetadata: { metadataUrl: `${origin}/metadata/prm.json`, redirected: true },
            authorizationServers: [{ issuer: origin, pkceMethods: ["S256"], issParameter: true }],
          },
        });
        const pitfalls = report.pitfalls as JsonPitfall[];
        expect(pitfalls.map((p) => p.id)).toEqual([
          "metadata-redirect",
          "issuer-mismatch",
          "scopes-not-listed",
        ]);
        expect(pitfalls[0]?.evidence[0]).toEqual({
          url: `${origin}/.well-known/oauth-protected-resource/mcp`,
          status: 301,
          location: `${origin}/metadata/prm.json`,
        });
        expect(pitfalls[1]?.evidence[0]).toEqual({
          url: `${origin}/.well-known/oauth-authorization-server`,
          status: 200,
          value: "issuer: https://issuer.elsewhere.example",
        });
        expect(pitfalls[2]?.evidence[0]?.value).toBe("not listed: files:read");
        for (const p of pitfalls) expect(p.see).toMatch(/^https:\/\//);
        expect(report.exchanges[0]).toEqual({
          purpose: "challenge",
          method: "POST",
          url: server.url,
          status: 401,
        });
      },
    );
  });

  it.concurrent("--html writes one self-contained page: the pitfalls and evidence, no script, nothing loaded", async () => {
    await withServer({ pkceMethods: ["plain"], registration: "none" }, async (server) => {
      const out = path.join(dir, "report.html");
      const run = await runCli(["probe", server.url, "--html", out], { configDir: dir });
      expect(run.code, run.stderr).toBe(6);
      expect(run.stderr).toContain(`wrote the report to ${out}`);
      expect(run.stdout).toMatch(/✗ error\s+no-s256/);
      expect(run.stdout).toMatch(/! warning no-registration-path/);
      const html = await readFile(out, "utf8");
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
      expect(html).toContain('<section class="pitfall error" id="no-s256">');
      expect(html).toContain("code_challenge_methods_supported: [&quot;plain&quot;]");
      expect(html).toContain("2 pitfalls found.");
      expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|@import|url\(/i);
      // The only links are the spec sections this program names.
      for (const [, href] of html.matchAll(/href="([^"]*)"/g))
        expect(href).toMatch(/^https:\/\/(modelcontextprotocol\.io|www\.rfc-editor\.org)\//);
    });
  });

  it.concurrent("hostile server text: escaped in the page, sanitized on the terminal; query values hidden", async () => {
    const server = await startScriptedServer();
    const origin = server.origin;
    const resource = `${origin}/x\u001b]0;pwned\u0007<script>alert(1)</script>`;
    server.route("/mcp", {
      status: 401,
      headers: { "www-authenticate": `Bearer resource_metadata="${origin}/prm"` },
    });
    server.route("/prm", {
      status: 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ resource, authorization_servers: ["javascript:alert(1)"] }),
    });
    try {
      const url = `${origin}/mcp?api_key=sk-live-SECRET-123`;
      const out = path.join(dir, "hostile.html");
      const run = await runCli(["probe", url, "--html", out], { configDir: dir });
      expect(run.code, run.stderr).toBe(6);
      expect(run.stdout).toContain("resource-mismatch");
      expect(run.stdout).toContain("insecure-authorization-server");
      expect(run.stdout).not.toContain("\u001b");
      expect(run.stdout).not.toContain("\u0007");
      const html = await readFile(out, "utf8");
      expect(html).not.toContain("<script");
      expect(html).toContain("&lt;script&gt;");
      expect(html).not.toContain('href="javascript:');
      for (const text of [run.stdout, run.stderr, html]) expect(text).not.toContain("SECRET");
      for (const text of [run.stdout, html]) expect(text).toContain("api_key=…");
    } finally {
      await server.close();
    }
  });

  it.concurrent("--fail-on error: a warning is reported and exits 0, an error still exits 6", async () => {
    await withServer({ registration: "none" }, async (server) => {
      const strict = await runCli(["probe", server.url], { configDir: dir });
      expect(strict.code, strict.stderr).toBe(6);
      const lenient = await runCli(["probe", server.url, "--fail-on", "error", "--json"], {
        configDir: dir,
      });
      expect(lenient.code, lenient.stderr).toBe(0);
      const report = JSON.parse(lenient.stdout);
      // The report is the same: only the exit code follows --fail-on.
      expect(report.verdict).toBe("pitfalls");
      expect((report.pitfalls as JsonPitfall[]).map((p) => [p.id, p.severity])).toEqual([
        ["no-registration-path", "warning"],
      ]);
    });
    await withServer({ pkceMethods: ["plain"] }, async (server) => {
      const run = await runCli(["probe", server.url, "--fail-on", "error"], { configDir: dir });
      expect(run.code, run.stderr).toBe(6);
      expect(run.stdout).toMatch(/✗ error\s+no-s256/);
    });
    const bad = await runCli(["probe", "http://127.0.0.1:9/mcp", "--fail-on", "never"], {
      configDir: dir,
    });
    expect(bad.code).toBe(2);
  });

  it.concurrent("a bad URL exits 2; a server that cannot be reached exits 4, with --json too", async () => {
    const bad = await runCli(["probe", "ftp://example.com/mcp"], { configDir: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("is not a usable MCP server URL");
    const server = await startScriptedServer();
    const url = `${server.origin}/mcp`;
    await server.close();
    const down = await runCli(["probe", url, "--json"], { configDir: dir });
    expect(down.code).toBe(4);
    expect(JSON.parse(down.stdout)).toMatchObject({
      ok: false,
      error: { tag: "TransportError", exitCode: 4 },
    });
  });

  it.concurrent("--help documents the exit codes, --json and --html", async () => {
    const run = await runCli(["probe", "--help"], { configDir: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("--html");
    expect(run.stdout).toContain("--fail-on");
    expect(run.stdout).toMatch(/Exit 0: no pitfall; 6: pitfalls found/);
    expect(run.stdout).toMatch(/^6$/m);
    expect(run.stdout).toContain("probe: the server's authorization has pitfalls");
  });
});
