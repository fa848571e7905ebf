/**
 * login / status / call / tools / logout against real servers (@authchart/testkit), the command
 * run as a child process with its file store in a temporary directory: sign-ins answered in
 * paste mode, the files private, no token in any output.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANSI, type CliRun, freePort, runCli, runCliOnTerminal, scriptCommand } from "./support.js";

let kit: Testkit;
let configDir: string;
const runs: CliRun[] = [];

const cli = async (args: readonly string[], withUser = false) => {
  const run = await runCli(args, { configDir, ...(withUser ? { kit } : {}) });
  runs.push(run);
  return run;
};

/** The access and refresh tokens (and any client secret) the secrets file holds. */
const secretsIn = async (directory: string): Promise<string[]> => {
  const text = await readFile(path.join(directory, "secrets.json"), "utf8");
  const found: string[] = [];
  const walk = (value: unknown, name: string) => {
    if (typeof value === "string") {
      if (
        ["accessToken", "refreshToken", "clientSecret"].includes(name) ||
        name.startsWith("authchart/client-secret")
      )
        found.push(value);
    } else if (typeof value === "object" && value !== null)
      for (const [key, inner] of Object.entries(value)) walk(inner, key);
  };
  walk(JSON.parse(text), "");
  return found;
};

beforeAll(async () => {
  kit = await startTestkit({ mcp: { challengeScope: ["mcp:read"] } });
  configDir = await mkdtemp(path.join(tmpdir(), "authchart-cli-"));
});

afterAll(async () => {
  await kit?.close();
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

describe("a user's session, command by command", () => {
  let port: number;
  const tokens: string[] = [];

  it("login: discovery, registration, the sign-in pasted, the token; exit 0", async () => {
    port = await freePort();
    const run = await cli(
      ["login", kit.mcpUrl, "--scope", "mcp:read", "--headless", "--port", String(port)],
      true,
    );
    expect(run.stderr).toContain("Open this address in a browser to sign in");
    expect(run.code, run.stderr).toBe(0);
    expect(run.signIns).toBe(1);
    expect(run.stdout).toContain("logged in");
    expect(run.stdout).toContain("mcp:read");
    expect(run.stdout).not.toMatch(ANSI);
    expect(kit.count("registration")).toBe(1);
  });

  it("the store: a 0700 directory, every file 0600", async () => {
    expect((await stat(configDir)).mode & 0o777).toBe(0o700);
    for (const file of ["metadata.json", "secrets.json", "servers.json"]) {
      expect(((await stat(path.join(configDir, file))).mode & 0o777).toString(8), file).toBe("600");
    }
    tokens.push(...(await secretsIn(configDir)));
    expect(tokens.length).toBeGreaterThanOrEqual(2); // the access token and the refresh token
    const servers = JSON.parse(await readFile(path.join(configDir, "servers.json"), "utf8"));
    expect(servers.servers[kit.mcpUrl]).toEqual({ port });
  });

  it("status --json: the server, its scopes, expiry and state, the store kind", async () => {
    const run = await cli(["status", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const document = JSON.parse(run.stdout);
    expect(document.ok).toBe(true);
    expect(document.store).toMatchObject({ kind: "file", directory: expect.any(String) });
    expect(document.servers).toHaveLength(1);
    expect(document.servers[0]).toMatchObject({
      server: kit.mcpUrl,
      status: "authorized",
      scopes: ["mcp:read"],
      refreshToken: true,
      issuer: kit.issuer,
      clientKind: "dynamic",
    });
    expect(Date.parse(document.servers[0].expiresAt)).toBeGreaterThan(Date.now());
  });

  it("status <url> for a person: plain text in a pipe", async () => {
    const run = await cli(["status", `${kit.mcpUrl}/`]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(kit.mcpUrl);
    expect(run.stdout).toContain("authorized");
    expect(run.stdout).toMatch(/expires\s+\S+ \(in /);
    expect(run.stdout).not.toMatch(ANSI);
  });

  it("call: the tool's answer on stdout, no new sign-in", async () => {
    const before = kit.user.authorizations;
    const run = await cli(["call", kit.mcpUrl, "echo", '{"text":"hello from the CLI"}']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe("hello from the CLI");
    expect(kit.user.authorizations).toBe(before);
  });

  it.runIf(scriptCommand)(
    "call on a terminal with NO_COLOR or TERM=dumb: the tool's escape sequences and bidi controls never reach it",
    async () => {
      const hostile = "a\u001b[2Jb\u001b]0;TITLE\u0007c\u009b2Jd\u202eevil\u2066e";
      const pipe = await cli(["call", kit.mcpUrl, "echo", JSON.stringify({ text: hostile })]);
      expect(pipe.code, pipe.stderr).toBe(0);
      expect(pipe.stdout).toBe(`${hostile}\n`); // into a pipe the tool's text is data: as is
      for (const env of [{ NO_COLOR: "1" }, { TERM: "dumb" }]) {
        const run = await runCliOnTerminal(
          ["call", kit.mcpUrl, "echo", JSON.stringify({ text: hostile })],
          { configDir, env },
        );
        expect(run.code, run.output).toBe(0);
        expect(run.output).toContain("a?[2Jb?]0;TITLE?c?2Jd?evil?e");
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters that must not arrive
        expect(run.output).not.toMatch(/[\u001b\u0007\u009b\u202e\u2066]/);
        const json = await runCliOnTerminal(
          ["call", kit.mcpUrl, "echo", JSON.stringify({ text: hostile }), "--json"],
          { configDir, env },
        );
        expect(json.code, json.output).toBe(0);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters that must not arrive
        expect(json.output).not.toMatch(/[\u001b\u0007\u009b\u202e\u2066]/);
        expect(JSON.parse(json.output).result.content[0].text).toBe(hostile); // escaped, not lost
      }
    },
  );

  it("call a tool that needs more scope: 403 -> step-up (a second sign-in), never a refresh", async () => {
    const refreshes = kit.requests.filter((r) => r.grantType === "refresh_token").length;
    const run = await cli(
      ["call", kit.mcpUrl, "write-note", '{"text":"n"}', "--headless", "--decisions"],
      true,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.signIns).toBe(1);
    expect(run.stdout.trim()).toBe("write-note: n");
    expect(run.stderr).toContain("step-up");
    expect(kit.requests.filter((r) => r.grantType === "refresh_token").length).toBe(refreshes);
    tokens.push(...(await secretsIn(configDir)));
  });

  it("call after the token is refused: one refresh, shared through the store", async () => {
    kit.expireAccessTokens();
    const run = await cli(["call", kit.mcpUrl, "echo", '{"text":"again"}', "--decisions"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe("again");
    expect(run.stderr).toContain("refreshed");
    tokens.push(...(await secretsIn(configDir)));
    const status = JSON.parse((await cli(["status", "--json", kit.mcpUrl])).stdout);
    expect(status.servers[0].scopes).toEqual(["mcp:read", "mcp:write"]);
  });

  it("tools: the server's tools", async () => {
    const run = await cli(["tools", kit.mcpUrl]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^echo\s+Needs scope mcp:read/m);
    const json = JSON.parse((await cli(["tools", kit.mcpUrl, "--json"])).stdout);
    expect(json.tools.map((t: { name: string }) => t.name)).toEqual([
      "echo",
      "write-note",
      "admin-report",
    ]);
  });

  it("call an unknown tool: exit 2, UnknownTool, pointing to `authchart tools` (SDK 1.x answers it as a tool error)", async () => {
    const run = await cli(["call", kit.mcpUrl, "no-such-tool"]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/error .* has no tool named no-such-tool/);
    expect(run.stderr).toContain("next: check the tool's name: `authchart tools <url>`");
    expect(run.stderr).not.toContain("the tool ran and failed");
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const json = await cli(["call", kit.mcpUrl, "no-such-tool", "--json"]);
    expect(JSON.parse(json.stdout).error).toMatchObject({ tag: "UnknownTool", exitCode: 2 });
  });

  it("call a tool that runs and fails (invalid arguments): exit 4, check its arguments", async () => {
    const run = await cli(["call", kit.mcpUrl, "echo", '{"text": 5}']);
    expect(run.code, run.stderr).toBe(4);
    expect(run.stderr).toMatch(/error the tool echo reported an error/);
    expect(run.stderr).toContain("next: the tool ran and failed: check its arguments");
  });

  it("call --non-interactive when the tool needs a sign-in: exit 3, InteractionRequired, no prompt", async () => {
    const before = kit.user.authorizations;
    const run = await cli(["call", kit.mcpUrl, "admin-report", "--non-interactive", "--json"]);
    expect(run.code, run.stderr).toBe(3);
    expect(JSON.parse(run.stdout).error).toMatchObject({
      tag: "InteractionRequired",
      hint: expect.stringContaining("authchart login"),
    });
    expect(run.stderr).not.toContain("Open this address");
    expect(kit.user.authorizations).toBe(before);
  });

  it("Ctrl-C while the sign-in waits: exit 130, the session untouched", async () => {
    let interrupted = false;
    const run = await runCli(["call", kit.mcpUrl, "admin-report", "--headless"], {
      configDir,
      onStderr: (stderr, child) => {
        if (!interrupted && stderr.includes("paste here")) {
          interrupted = true;
          child.kill("SIGINT");
        }
      },
    });
    runs.push(run);
    expect(interrupted).toBe(true);
    expect(run.code).toBe(130);
    expect(run.stderr).toContain("interrupted");
    const status = JSON.parse((await cli(["status", "--json", kit.mcpUrl])).stdout);
    expect(status.servers[0]).toMatchObject({ status: "authorized" });
  });

  it("logout: revoked at the authorization server, forgotten here; status then exits 3", async () => {
    const run = await cli(["logout", kit.mcpUrl]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/logged out .*: [1-9]\d* tokens? revoked/);
    expect(await secretsIn(configDir)).toEqual([]);
    const status = await cli(["status", kit.mcpUrl]);
    expect(status.code).toBe(3);
    expect(status.stderr).toContain("authchart login");
    const again = await cli(["logout", kit.mcpUrl, "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, loggedOut: false });
  });

  it("login --port 0: an ephemeral redirect port, bound at the sign-in (RFC 8252 §7.3)", async () => {
    const run = await cli(["login", kit.mcpUrl, "--headless", "--port", "0"], true);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A[1-9]\d*%2Fcallback/);
    const servers = JSON.parse(await readFile(path.join(configDir, "servers.json"), "utf8"));
    expect(servers.servers[kit.mcpUrl]).toEqual({ port: 0 });
    tokens.push(...(await secretsIn(configDir)));
  });

  it("no token or refresh token in any output of any command", () => {
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    expect(tokens.every((token) => token.length >= 20)).toBe(true);
    for (const run of runs) {
      for (const token of tokens) {
        expect(run.stdout.includes(token), "a token on stdout").toBe(false);
        expect(run.stderr.includes(token), "a token on stderr").toBe(false);
      }
    }
  });
});

describe("a pre-registered client with its secret in an environment variable", () => {
  let directory: string;
  let clientId: string;
  let clientSecret: string;
  let port: number;
  const printed: string[] = [];
  const env = () => ({ AUTHCHART_TEST_SECRET: clientSecret });
  const run = async (args: readonly string[], withUser = false) => {
    const result = await runCli(args, {
      configDir: directory,
      env: env(),
      ...(withUser ? { kit } : {}),
    });
    printed.push(result.stdout, result.stderr);
    return result;
  };

  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), "authchart-cli-pre-"));
    port = await freePort();
    const registered = await kit.registerClient({
      client_name: "pre-registered CLI",
      redirect_uris: [`http://127.0.0.1:${port}/callback`],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      application_type: "native",
    });
    clientId = String(registered.client_id);
    clientSecret = String(registered.client_secret);
  });
  afterAll(async () => {
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it("login --client-id --client-secret-env: no dynamic registration; only the variable's name is saved, never the secret", async () => {
    const registrations = kit.count("registration");
    const result = await run(
      [
        "login",
        kit.mcpUrl,
        "--client-id",
        clientId,
        "--client-secret-env",
        "AUTHCHART_TEST_SECRET",
        "--port",
        String(port),
        "--headless",
      ],
      true,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(kit.count("registration")).toBe(registrations);
    const servers = await readFile(path.join(directory, "servers.json"), "utf8");
    expect(JSON.parse(servers).servers[kit.mcpUrl]).toEqual({
      clientId,
      clientSecretEnv: "AUTHCHART_TEST_SECRET",
      port,
    });
    expect(servers).not.toContain(clientSecret);
    const status = JSON.parse((await run(["status", "--json"])).stdout);
    expect(status.servers[0]).toMatchObject({ clientId, clientKind: "pre-registered" });
  });

  it("call refreshes with the client's secret; logout revokes with it", async () => {
    kit.expireAccessTokens();
    const call = await run(["call", kit.mcpUrl, "echo", '{"text":"pre"}', "--decisions"]);
    expect(call.code, call.stderr).toBe(0);
    expect(call.stdout.trim()).toBe("pre");
    expect(call.stderr).toContain("refreshed");
    const tokens = await secretsIn(directory);
    const logout = await run(["logout", kit.mcpUrl]);
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stdout).toMatch(/[1-9]\d* tokens? revoked/);
    for (const secret of [clientSecret, ...tokens])
      for (const text of printed) expect(text.includes(secret)).toBe(false);
  });
});
