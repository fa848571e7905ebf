/**
 * The `authchart` CLI finishes a login that a real browser signs: `authchart login <url>
 * --headless` (a child process, the built packages/cli/dist/bin.js) prints the authorization
 * address, Debian's chromium (playwright-core) opens it, a person's keystrokes fill
 * oidc-provider's login and consent pages, the AS sends the browser to the CLI's loopback
 * receiver (it listens in headless mode too: RFC 8252 §7.3), and the CLI exits 0. `authchart
 * status --json` then shows the server with the granted scopes, and no token anywhere in what
 * either command printed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CHROMIUM_SETUP_TIMEOUT_MILLIS,
  ensureChromium,
  type LaunchedChromium,
  launchChromium,
} from "./chromium.js";

/** The CLI as users run it: the built bin (turbo builds it before the e2e tests run). */
const CLI_BIN = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url));

/** A port free right now, for the CLI's fixed redirect URI (`--port`). */
const freePort = async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

interface Cli {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (the signal's name if it was killed). */
  readonly exited: Promise<number | string>;
  /** Resolves with the first stderr/stdout text that matches. */
  readonly waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>;
}

const children = new Set<ChildProcess>();

/** Starts the CLI; stdin stays open (paste mode reads it) until the test ends it. */
const startCli = (args: readonly string[], env: Readonly<Record<string, string>>): Cli => {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.add(child);
  let stdout = "";
  let stderr = "";
  const watchers = new Set<() => void>();
  const onOutput = () => {
    for (const watcher of watchers) watcher();
  };
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
    onOutput();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
    onOutput();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve(code ?? signal ?? "unknown");
      onOutput();
    });
  });
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = stderr.match(pattern) ?? stdout.match(pattern);
        if (match !== null) {
          watchers.delete(check);
          resolve(match);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          watchers.delete(check);
          reject(
            new Error(
              `the CLI exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`,
            ),
          );
        }
      };
      watchers.add(check);
      check();
    });
  return { child, stdout: () => stdout, stderr: () => stderr, exited, waitFor };
};

/** Runs the CLI to its end with stdin closed. */
const runCli = async (args: readonly string[], env: Readonly<Record<string, string>>) => {
  const cli = startCli(args, env);
  cli.child.stdin?.end();
  const code = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
};

/** Every JWT in the files under `dir` (the store's token files hold the access token). */
const jwtsUnder = async (dir: string): Promise<string[]> => {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const text = await readFile(join(entry.parentPath, entry.name), "utf8");
    found.push(...(text.match(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/g) ?? []));
  }
  return found;
};

let browser: LaunchedChromium | undefined;
let skipReason = "chromium is not available";

beforeAll(async () => {
  if (!existsSync(CLI_BIN)) {
    throw new Error(
      `${CLI_BIN} is missing: build the CLI first (cd packages/cli && npx tsc -b; npm test builds it)`,
    );
  }
  const availability = await ensureChromium();
  if (!availability.available) {
    skipReason = availability.reason;
    return;
  }
  browser = await launchChromium(availability.executablePath);
}, CHROMIUM_SETUP_TIMEOUT_MILLIS);

afterAll(async () => {
  await browser?.close();
  browser = undefined;
});

describe("authchart login --headless, signed in a real browser", () => {
  let kit: Testkit | undefined;
  let configDir: string | undefined;
  afterEach(async () => {
    for (const child of children) child.kill("SIGKILL");
    children.clear();
    await kit?.close();
    if (configDir !== undefined) await rm(configDir, { recursive: true, force: true });
    kit = undefined;
    configDir = undefined;
  });

  it("prints the address, the browser signs in and lands on the CLI's receiver, the CLI exits 0; status shows the grant and no token", async (context) => {
    if (browser === undefined) return context.skip(skipReason);
    const chromium = browser;
    const k = await startTestkit({ authServer: { browserPages: true } });
    kit = k;
    const dir = await mkdtemp(join(tmpdir(), "authchart-cli-browser-"));
    configDir = dir;
    const env = { AUTHCHART_CONFIG_DIR: dir };
    const port = await freePort();
    const redirectUri = `http://127.0.0.1:${port}/callback`;

    const login = startCli(
      [
        "login",
        "--headless",
        "--port",
        String(port),
        "--scope",
        "mcp:read",
        "--scope",
        "mcp:write",
        k.mcpUrl,
      ],
      env,
    );
    // Paste mode: the CLI prints the sign-in address (on stderr) and waits — for a pasted
    // address on stdin, or for the browser to reach its receiver.
    const escapedIssuer = k.issuer.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const [address = ""] = await login.waitFor(new RegExp(`${escapedIssuer}/authorize\\?\\S+`));
    const authorizationUrl = new URL(address);
    expect(authorizationUrl.searchParams.get("redirect_uri")).toBe(redirectUri);
    expect(authorizationUrl.searchParams.get("resource")).toBe(k.mcpUrl);

    const page = await chromium.context.newPage();
    try {
      await page.goto(authorizationUrl.href);
      await page.getByRole("heading", { name: "Sign-in" }).waitFor();
      await page.getByPlaceholder("Enter any login").pressSequentially("bob");
      await page.getByPlaceholder("and password").pressSequentially("another password");
      await page.getByRole("button", { name: "Sign-in" }).click();

      await page.getByRole("heading", { name: "Authorize" }).waitFor();
      await page.locator(".login-card").getByText("mcp:write", { exact: true }).waitFor();
      await page.getByRole("button", { name: "Continue" }).click();

      await page.waitForURL((url) => url.href.startsWith(`${redirectUri}?`));
      await page.getByRole("heading", { name: "Authorization received" }).waitFor();
      await page.getByText("You can close this tab and return to the application.").waitFor();
      expect((await page.screenshot()).byteLength).toBeGreaterThan(0);
    } finally {
      await page.close();
    }

    // The CLI finishes by itself: nothing was pasted.
    const code = await login.exited;
    login.child.stdin?.end();
    expect(code, `stdout: ${login.stdout()}\nstderr: ${login.stderr()}`).toBe(0);
    expect(login.stdout()).toContain("logged in");
    expect(k.user.authorizations).toBe(0);

    const status = await runCli(["status", "--json", k.mcpUrl], env);
    expect(status.code, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as {
      ok: boolean;
      servers: Array<{ server: string; status: string; scopes: string[]; issuer?: string }>;
    };
    expect(report.ok).toBe(true);
    expect(report.servers).toHaveLength(1);
    expect(report.servers[0]).toMatchObject({
      server: k.mcpUrl,
      status: "authorized",
      issuer: k.issuer,
    });
    expect([...(report.servers[0]?.scopes ?? [])].sort()).toEqual(["mcp:read", "mcp:write"]);

    // The access token is in the store, and in nothing either command printed.
    const tokens = await jwtsUnder(dir);
    expect(tokens.length).toBeGreaterThan(0);
    const printed = [login.stdout(), login.stderr(), status.stdout, status.stderr].join("\n");
    for (const token of tokens) expect(printed).not.toContain(token);
    expect(printed).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\./);
  }, 90_000);
});
