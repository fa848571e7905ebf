/**
 * What every command owes its user, without a server: help that documents the exit codes,
 * usage errors (exit 2), a failure that says what to do next without a stack trace, --json
 * documents for failures, plain text in a pipe, the diagram.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANSI, runCli } from "./support.js";

let configDir: string;
beforeAll(async () => {
  configDir = await mkdtemp(path.join(tmpdir(), "authchart-cli-usage-"));
});
afterAll(async () => {
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe("help and usage", () => {
  it("--help lists the commands and documents the exit codes; exit 0, plain in a pipe", async () => {
    const run = await runCli(["--help"], { configDir });
    expect(run.code).toBe(0);
    for (const command of ["login", "status", "logout", "call", "tools", "diagram", "demo"])
      expect(run.stdout).toContain(`- ${command}`);
    expect(run.stdout).toContain("EXIT CODES");
    for (const code of ["0", "1", "2", "3", "4", "5", "130"])
      expect(run.stdout).toMatch(new RegExp(`^${code}$`, "m"));
    expect(run.stdout).toContain("AUTHCHART_CONFIG_DIR");
    expect(run.stdout).not.toMatch(ANSI);
  });

  it("no command: a summary on stderr, exit 2", async () => {
    const run = await runCli([], { configDir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("authchart login <url>");
  });

  it("an unknown command, a missing argument, an unknown option: exit 2", async () => {
    expect((await runCli(["bogus"], { configDir })).code).toBe(2);
    expect((await runCli(["login"], { configDir })).code).toBe(2);
    expect((await runCli(["status", "--bogus"], { configDir })).code).toBe(2);
  });

  it("a URL that is not an MCP server URL: exit 2, what went wrong and what to do", async () => {
    const run = await runCli(["login", "ftp://example.com/mcp"], { configDir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/error "ftp:\/\/example.com\/mcp" is not a usable MCP server URL/);
    expect(run.stderr).toMatch(/next: give the server's full URL/);
    noStackTrace(run.stderr);
  });

  it("call with arguments that are not a JSON object: exit 2", async () => {
    const run = await runCli(["call", "https://mcp.example.com/mcp", "echo", "[1,2]"], {
      configDir,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("not a JSON object");
  });

  it("login --port: 0 to 65535 accepted, anything else refused with the same range (exit 2)", async () => {
    const refused = await runCli(["login", "http://127.0.0.1:9/mcp", "--port", "70000"], {
      configDir,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("--port 70000 is not a TCP port");
    expect(refused.stderr).toContain("next: give a port between 1 and 65535, or 0");
    // a low port passes the check: the login goes on, to the server that does not answer (exit 4)
    const low = await runCli(["login", "http://127.0.0.1:9/mcp", "--port", "80"], { configDir });
    expect(low.code, low.stderr).toBe(4);
    expect(low.stderr).not.toContain("not a TCP port");
  });

  it("--client-secret-env naming an unset variable: exit 2, the secret never an argument", async () => {
    const run = await runCli(
      [
        "login",
        "http://127.0.0.1:9/mcp",
        "--client-id",
        "pre",
        "--client-secret-env",
        "AUTHCHART_TEST_UNSET_SECRET",
      ],
      { configDir },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("AUTHCHART_TEST_UNSET_SECRET");
    expect(run.stderr).toContain("export AUTHCHART_TEST_UNSET_SECRET=");
  });
});

describe("failures", () => {
  it("status of a server never logged in to: exit 3; --json: one document on stdout", async () => {
    const run = await runCli(["status", "https://mcp.example.com/mcp"], { configDir });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("authchart login");
    const json = await runCli(["status", "--json", "https://mcp.example.com/mcp"], { configDir });
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: false,
      error: {
        tag: "NotLoggedIn",
        message: "no saved session for https://mcp.example.com/mcp",
        hint: expect.stringContaining("authchart login"),
        exitCode: 3,
      },
    });
  });

  it("a server that does not answer: exit 4, no stack trace", async () => {
    const run = await runCli(["tools", "http://127.0.0.1:9/mcp"], { configDir });
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/error request to http:\/\/127.0.0.1:9\/mcp failed/);
    expect(run.stderr).toContain("next:");
    noStackTrace(run.stderr);
  });

  it("a damaged store: exit 5, with what to do", async () => {
    const damaged = await mkdtemp(path.join(tmpdir(), "authchart-cli-damaged-"));
    try {
      await writeFile(path.join(damaged, "metadata.json"), "{ not json", { mode: 0o600 });
      const run = await runCli(["status"], { configDir: damaged });
      expect(run.code).toBe(5);
      expect(run.stderr).toMatch(/not a valid store file/);
      expect(run.stderr).toContain("next:");
    } finally {
      await rm(damaged, { recursive: true, force: true });
    }
  });

  it("status with an empty store: exit 0 and the store's kind", async () => {
    const empty = await mkdtemp(path.join(tmpdir(), "authchart-cli-empty-"));
    try {
      const run = await runCli(["status", "--json"], { configDir: empty });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({
        ok: true,
        store: { kind: "file", directory: expect.any(String) },
        servers: [],
      });
      // a command that never reached its server leaves nothing status would list
      expect((await runCli(["tools", "http://127.0.0.1:9/mcp"], { configDir: empty })).code).toBe(
        4,
      );
      expect(
        JSON.parse((await runCli(["status", "--json"], { configDir: empty })).stdout).servers,
      ).toEqual([]);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe("diagram", () => {
  it("Mermaid from the machine itself", async () => {
    const run = await runCli(["diagram"], { configDir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^stateDiagram-v2\n/);
    expect(run.stdout).toContain("authorized --> refreshing");
    const flow = await runCli(["diagram", "--chart", "authorization-code"], { configDir });
    expect(flow.stdout).toContain("authorizing");
  });

  it("--json: the machine's definition for Stately's editor", async () => {
    const run = await runCli(["diagram", "--json"], { configDir });
    expect(run.code).toBe(0);
    const definition = JSON.parse(run.stdout);
    expect(definition.id).toBe("authchart");
    expect(Object.keys(definition.states)).toEqual(
      expect.arrayContaining(["unauthorized", "obtaining", "authorized", "refreshing", "failed"]),
    );
  });
});
