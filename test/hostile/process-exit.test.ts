/**
 * An idle session the application forgot to close must not keep Node alive: no timer (a
 * proactive refresh, a cool-down, a keep-alive) may hold the event loop. Runs a child process
 * against the built @authchart/core.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const script = fileURLToPath(new URL("./fixtures/idle-session.mjs", import.meta.url));

describe("process exit", () => {
  it("a session authorized with a 1-hour token and a refresh token, never closed: the process exits by itself (code 0) within 10 s", async () => {
    const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const result = await new Promise<{ code: number | null; timedOut: boolean }>((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        resolve({ code: null, timedOut: true });
      }, 10_000);
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, timedOut: false });
      });
    });
    expect(output).toContain("authorized; leaving the session open");
    expect(result, output.slice(0, 2000)).toEqual({ code: 0, timedOut: false });
  }, 20_000);
});
