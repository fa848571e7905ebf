/**
 * `--trace FILE` and `authchart trace FILE`, as a user runs them (child processes) against real
 * servers (@authchart/testkit: oidc-provider and the MCP SDK server): a `call` that authorizes
 * and then steps up (403 insufficient_scope) is recorded — every line decodes, the exchanges are
 * there by phase, and neither the tokens the store holds nor the authorization codes the user
 * pasted appear in it —; the timeline is read back on stdout; a flow that fails at registration
 * is named with its typed error and what to do; a file that is no trace is a usage error.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { readTrace, type TraceLine } from "@authchart/core/record";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { Either } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANSI, runCli } from "./support.js";

let kit: Testkit;
let directory: string;
/** The callback URLs the user pasted: each carries an authorization code. */
const callbacks: string[] = [];

beforeAll(async () => {
  kit = await startTestkit({ mcp: { challengeScope: ["mcp:read"] } });
  directory = await mkdtemp(path.join(tmpdir(), "authchart-trace-"));
});

afterAll(async () => {
  await kit?.close();
  if (directory) await rm(directory, { recursive: true, force: true });
});

/** The testkit's user, who also notes each callback URL it hands back. */
const noting = (k: Testkit): Testkit =>
  ({
    user: {
      authorize: async (url: string) => {
        const callback = await k.user.authorize(url);
        callbacks.push(callback);
        return callback;
      },
    },
  }) as unknown as Testkit;

/** The access and refresh tokens the store's secrets file holds. */
const secretsIn = async (config: string): Promise<string[]> => {
  const found: string[] = [];
  const walk = (value: unknown, name: string) => {
    if (typeof value === "string" && ["accessToken", "refreshToken"].includes(name))
      found.push(value);
    else if (typeof value === "object" && value !== null)
      for (const [key, inner] of Object.entries(value)) walk(inner, key);
  };
  walk(JSON.parse(await readFile(path.join(config, "secrets.json"), "utf8")), "");
  return found;
};

const decoded = async (file: string): Promise<readonly TraceLine[]> => {
  const lines = readTrace(await readFile(file, "utf8"));
  if (Either.isLeft(lines)) throw new Error(lines.left.message);
  return lines.right;
};

describe("a recorded step-up", () => {
  const configDir = () => path.join(directory, "config");
  const file = () => path.join(directory, "step-up.jsonl");

  it("call --trace FILE: authorization, 403, step-up, all recorded without a secret", async () => {
    const run = await runCli(
      ["call", kit.mcpUrl, "write-note", '{"text":"n"}', "--headless", "--trace", file()],
      { configDir: configDir(), kit: noting(kit) },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.signIns).toBe(2);
    expect(((await stat(file())).mode & 0o777).toString(8)).toBe("600");
    const lines = await decoded(file());
    const exchanges = lines.flatMap((l) => (l.kind === "http" ? [l] : []));
    const seen = exchanges.map((x) => `${x.phase} ${x.method} ${x.status}`);
    // The OAuth requests around the MCP client's own (initialize, the initialized notification,
    // the tool call), in order. The SDK opens its GET for a server stream (answered 405) without
    // waiting for it, so that answer is recorded anywhere after the notification's 202 — the
    // tool call's 403 may come back first.
    expect(seen.filter((x) => x !== "resource GET 405")).toEqual([
      "resource POST 401",
      "discovery GET 200",
      "discovery GET 200",
      "registration POST 201",
      "token POST 200",
      "resource POST 200",
      "resource POST 202",
      "resource POST 403",
      "token POST 200",
      "resource POST 200",
    ]);
    expect(seen.filter((x) => x === "resource GET 405")).toHaveLength(1);
    expect(seen.indexOf("resource GET 405")).toBeGreaterThan(seen.indexOf("resource POST 202"));
    expect(
      lines.filter((l) => l.kind === "decision").map((l) => l.kind === "decision" && l.decision),
    ).toContain("step-up");
    expect(lines.at(-1)).toMatchObject({ kind: "outcome", ok: true });
    expect(lines.some((l) => l.kind === "inspect" && l.type === "@xstate.microstep")).toBe(true);

    const text = await readFile(file(), "utf8");
    const codes = callbacks.map((cb) => new URL(cb).searchParams.get("code") ?? "");
    const tokens = await secretsIn(configDir());
    expect(codes.length).toBe(2);
    expect(tokens.length).toBeGreaterThan(0);
    for (const secret of [...codes, ...tokens]) {
      expect(secret.length).toBeGreaterThan(10);
      expect(text.includes(secret)).toBe(false);
    }
    expect(text).toContain("Bearer <redacted>");
  });

  it("authchart trace FILE: the timeline state by state, requests, decisions, the end", async () => {
    const run = await runCli(["trace", file()]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toMatch(ANSI);
    expect(run.stdout).toContain(`trace of ${kit.mcpUrl}`);
    expect(run.stdout).toMatch(/authorizationCode\s+registering/);
    expect(run.stdout).toMatch(/authchart\s+obtaining\.authorizationCode/);
    expect(run.stdout).toMatch(/→ resource\s+POST \S+\/mcp 403/);
    expect(run.stdout).toMatch(/· step-up\s+403 insufficient_scope/);
    expect(run.stdout).toMatch(/→ token\s+POST \S+\/token 200/);
    expect(run.stdout.trimEnd().split("\n").at(-1)).toBe("the flow succeeded");
  });
});

describe("a recorded failure", () => {
  it("a flow that fails at registration: the step, the typed error and what to do", async () => {
    const broken = await startTestkit({ authServer: { advertiseRegistration: false } });
    try {
      const file = path.join(directory, "failed.jsonl");
      const call = await runCli(
        ["call", broken.mcpUrl, "echo", '{"text":"x"}', "--headless", "--trace", file],
        { configDir: path.join(directory, "config-broken") },
      );
      expect(call.code, call.stderr).toBe(4);
      const lines = await decoded(file);
      expect(lines.at(-1)).toMatchObject({
        kind: "outcome",
        ok: false,
        error: { tag: "RegistrationUnavailable" },
        hint: expect.any(String),
      });
      const page = path.join(directory, "failed.html");
      const run = await runCli(["trace", file, "--html", page]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(
        /✗ authorizationCode failed at registering: RegistrationUnavailable/,
      );
      expect(run.stdout).toMatch(/the flow failed in authorizationCode at registering/);
      expect(run.stdout).toMatch(/ {2}error RegistrationUnavailable /);
      expect(run.stdout).toMatch(/ {2}next: \S/);
      const html = await readFile(page, "utf8");
      expect(html).toContain('<section class="failure" id="failure">');
      expect(html).toMatch(/The step: <code>authorizationCode<\/code> at <b>registering<\/b>/);
      expect(html).toContain('<code class="error-tag">RegistrationUnavailable</code>');
      expect(html).toContain("What to do: register a client");
    } finally {
      await broken.close();
    }
  });
});

describe("what is not a trace", () => {
  it("a malformed line: exit 2, the line named, its content not quoted", async () => {
    const file = path.join(directory, "bad.jsonl");
    await writeFile(
      file,
      `${JSON.stringify({ kind: "start", time: new Date().toISOString(), schema: "authchart.trace/1" })}\n{"kind":"http","secretish":"do-not-echo"}\n`,
    );
    const run = await runCli(["trace", file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("line 2 of the trace is not a line of an authchart trace");
    expect(run.stderr).not.toContain("do-not-echo");
  });

  it("--trace into a directory that does not exist: exit 2 before any request", async () => {
    const before = kit.requests.length;
    const run = await runCli(
      ["tools", kit.mcpUrl, "--trace", path.join(directory, "nowhere", "t.jsonl")],
      { configDir: path.join(directory, "config") },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("cannot write the trace to");
    expect(run.stderr).toContain("ENOENT");
    expect(kit.requests.length).toBe(before);
  });
});
