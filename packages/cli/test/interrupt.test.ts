/**
 * Ctrl-C is answered at once, also while an MCP server accepts a request and never answers it:
 * the connect is interruptible and aborted through its signal (fetch's own limit would otherwise
 * hold the process for minutes). The test's own timeout is the bound: without the fix the CLI
 * exits only when Node's fetch gives up, long after it.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { binPath } from "./support.js";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

describe("interrupting a command", () => {
  it("Ctrl-C while the MCP server never answers: exit 130, and the server sees the connection closed", async () => {
    const configDir = await mkdtemp(path.join(tmpdir(), "authchart-cli-interrupt-"));
    cleanup.push(() => rm(configDir, { recursive: true, force: true }));
    let received!: () => void;
    const request = new Promise<void>((resolve) => {
      received = resolve;
    });
    let closedByClient!: () => void;
    const clientClosed = new Promise<void>((resolve) => {
      closedByClient = resolve;
    });
    // Accepts every request and never answers it.
    const silent = http.createServer((req) => {
      req.resume();
      req.socket.once("close", () => closedByClient());
      received();
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    cleanup.push(
      () =>
        new Promise<void>((resolve) => {
          silent.closeAllConnections();
          silent.close(() => resolve());
        }),
    );
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/mcp`;

    const env: Record<string, string | undefined> = {
      ...process.env,
      AUTHCHART_CONFIG_DIR: configDir,
    };
    delete env.FORCE_COLOR;
    const child = spawn(process.execPath, [binPath, "tools", url, "--non-interactive"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );

    await request;
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toContain("interrupted");
    // The pending request was aborted, not left to the process's end.
    await clientClosed;
  });
});
