/**
 * Two processes, one store, one rotating refresh token (the issue): both call a tool at the same
 * moment after the MCP server stopped accepting the access token. With the file lock they make
 * one refresh between them — the second finds the first's token in the store under the lock —
 * so the authorization server never sees a rotated refresh token used again (which revokes the
 * grant) and nobody logs in again. Counts come from the testkit's own request log.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createSession } from "@authchart/core";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { fileStore } from "../src/file-store.js";

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, "..");
const viteNode = join(
  dirname(createRequire(import.meta.url).resolve("vite-node/package.json")),
  "vite-node.mjs",
);
const redirectUri = "http://127.0.0.1:33418/callback";

interface ChildResult {
  readonly status: number;
  readonly text: string;
  readonly error?: string;
  readonly logins: number;
  readonly tokenVersion?: number;
  readonly obtainedBy?: string;
  readonly decisions: readonly string[];
}

let kit: Testkit | undefined;
const dirs: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill();
  await kit?.close();
  kit = undefined;
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A child running the fixture; `ready` when its session exists, `result` when it has called. */
const startChild = (env: Record<string, string>) => {
  const child = spawn(
    process.execPath,
    [
      viteNode,
      "--config",
      join(packageDir, "vitest.config.ts"),
      join(here, "fixtures/refresh-child.ts"),
    ],
    { cwd: packageDir, env: { ...process.env, ...env }, stdio: "pipe" },
  );
  children.push(child);
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += String(chunk);
  });
  const lines = createInterface({ input: child.stdout });
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const result = new Promise<ChildResult>((resolve, reject) => {
    lines.on("line", (line) => {
      if (line === "ready") markReady();
      else if (line.startsWith('{"result"'))
        resolve((JSON.parse(line) as { result: ChildResult }).result);
    });
    child.on("exit", (code) =>
      reject(new Error(`child exited (${code}) without a result; stderr: ${stderr.slice(-2000)}`)),
    );
  });
  return { child, ready, result, go: () => child.stdin.write("go\n") };
};

const refreshRequests = (k: Testkit) =>
  k.requests.filter((r) => r.kind === "token" && r.grantType === "refresh_token");

/** Logs in once in this process over the shared store, and leaves the session persisted there. */
const loginOnce = async (k: Testkit, storeDir: string) => {
  const session = await createSession({
    serverUrl: k.mcpUrl,
    store: await fileStore({ directory: storeDir }),
    client: { clientName: "authchart two-processes", redirectUris: [redirectUri] },
    userAgent: (prompt) => k.user.authorize(prompt.url),
  });
  const response = await session.fetch(k.mcpUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "warm" } },
    }),
  });
  expect(response.status).toBe(200);
  await response.body?.cancel();
  expect(session.state().token?.hasRefreshToken).toBe(true);
  await session.close();
};

const race = async (lock: "file" | "none") => {
  const k = await startTestkit({ authServer: { refreshTokenRotation: true } });
  kit = k;
  const storeDir = await mkdtemp(join(tmpdir(), "authchart-store-"));
  const lockDir = join(await mkdtemp(join(tmpdir(), "authchart-locks-")), "locks");
  dirs.push(storeDir, dirname(lockDir));
  await loginOnce(k, storeDir);
  expect(k.user.authorizations).toBe(1);
  k.expireAccessTokens();
  const env = { MCP_URL: k.mcpUrl, STORE_DIR: storeDir, LOCK_DIR: lockDir, LOCK: lock };
  const pair = [startChild(env), startChild(env)];
  await Promise.all(pair.map((c) => c.ready));
  const before = k.requests.length;
  for (const c of pair) c.go();
  const results = await Promise.all(pair.map((c) => c.result));
  const during = k.requests.slice(before);
  return { k, results, during };
};

describe("two processes sharing one store and one rotating refresh token", () => {
  it("both call a tool at once after expiry: one refresh_token request, no invalid_grant, no second login", async () => {
    const { k, results, during } = await race("file");
    const refreshes = refreshRequests(k);
    // What was measured, for the report.
    console.info(
      JSON.stringify({
        refreshRequests: refreshes.length,
        refreshStatuses: refreshes.map((r) => r.status),
        mcp401: during.filter((r) => r.kind === "mcp" && r.status === 401).length,
        authorizations: k.user.authorizations,
        children: results.map((r) => ({
          status: r.status,
          version: r.tokenVersion,
          obtainedBy: r.obtainedBy,
          decisions: r.decisions,
        })),
      }),
    );
    expect(results.map((r) => r.error)).toEqual([undefined, undefined]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]?.status).toBe(200);
    // No invalid_grant: no token request was refused.
    expect(during.filter((r) => r.kind === "token" && r.status >= 400)).toEqual([]);
    expect(k.user.authorizations).toBe(1);
    expect(results.map((r) => r.logins)).toEqual([0, 0]);
    expect(during.filter((r) => r.kind === "authorization" || r.kind === "registration")).toEqual(
      [],
    );
    // Both ended on the same token: the one refresh's.
    expect(results[0]?.tokenVersion).toBe(results[1]?.tokenVersion);
  }, 60_000);

  // The issue without the lock, for a measurement: AUTHCHART_RACE_CONTROL=1 (timing-dependent).
  it.skipIf(process.env.AUTHCHART_RACE_CONTROL === undefined)(
    "control, no lock: the same race today",
    async () => {
      const { k, results, during } = await race("none");
      console.info(
        JSON.stringify({
          control: true,
          refreshRequests: refreshRequests(k).length,
          refusedTokenRequests: during.filter((r) => r.kind === "token" && r.status >= 400).length,
          authorizations: k.user.authorizations,
          children: results.map((r) => ({ status: r.status, error: r.error, logins: r.logins })),
        }),
      );
    },
    60_000,
  );
});
