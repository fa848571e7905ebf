/**
 * servers.json, the CLI's own file beside the credential store: kept as the store keeps its
 * files — private (a file others can read is made 0600 when the CLI reads it), and updated under
 * the store's cross-process write lock, so that two processes saving profiles at once keep all of
 * them. Real processes: the built CLI (dist), as `authchart login` runs it.
 */
import { spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "./support.js";

const posix = process.platform !== "win32";
const writerPath = fileURLToPath(new URL("./fixtures/profile-writer.mjs", import.meta.url));

let configDir: string;
beforeEach(async () => {
  configDir = path.join(await mkdtemp(path.join(tmpdir(), "authchart-cli-store-")), "config");
});
afterEach(async () => {
  await rm(path.dirname(configDir), { recursive: true, force: true });
});

/** A profile writer: resolves with its first line that passes `test`, rejects if it exits first. */
const startWriter = (writer: string, count: number) => {
  const child = spawn(process.execPath, [writerPath], {
    env: { ...process.env, CONFIG_DIR: configDir, WRITER: writer, COUNT: String(count) },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines: string[] = [];
  const waiting: Array<() => void> = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    for (const wake of waiting.splice(0)) wake();
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const line = async (test: (line: string) => boolean): Promise<string> => {
    for (;;) {
      const found = lines.find(test);
      if (found !== undefined) return found;
      const next = new Promise<void>((resolve) => waiting.push(resolve));
      await Promise.race([next, exited]);
      if (child.exitCode !== null && lines.find(test) === undefined)
        throw new Error(`the writer ${writer} exited: ${lines.join(" | ")}`);
    }
  };
  return { child, line, exited };
};

describe("servers.json", () => {
  it("two processes saving 100 profiles each at once: all 200 are there", async () => {
    const count = 100;
    const writers = [startWriter("a", count), startWriter("b", count)];
    await Promise.all(writers.map((w) => w.line((l) => l === "ready")));
    for (const w of writers) w.child.stdin.end("go\n");
    const results = await Promise.all(writers.map((w) => w.line((l) => l !== "ready")));
    expect(results).toEqual(["done", "done"]);
    await Promise.all(writers.map((w) => w.exited));
    const saved = JSON.parse(await readFile(path.join(configDir, "servers.json"), "utf8"));
    const servers = Object.keys(saved.servers);
    expect(servers).toHaveLength(2 * count);
    for (const writer of ["a", "b"])
      for (let i = 0; i < count; i++)
        expect(saved.servers[`https://mcp.example/${writer}/${i}`]).toEqual({ port: 1024 + i });
    if (posix)
      expect(((await stat(path.join(configDir, "servers.json"))).mode & 0o777).toString(8)).toBe(
        "600",
      );
  });

  it.runIf(posix)(
    "a servers.json others can read (0666) is made 0600 when the CLI reads it",
    async () => {
      // a store directory of one's own, with a servers.json left open to others
      await runCli(["status"], { configDir });
      const file = path.join(configDir, "servers.json");
      await writeFile(
        file,
        `${JSON.stringify({ format: 1, servers: { "http://127.0.0.1:9/mcp": { port: 0 } } })}\n`,
      );
      await chmod(file, 0o666);
      const run = await runCli(["tools", "http://127.0.0.1:9/mcp"], { configDir });
      expect(run.code, run.stderr).toBe(4); // nothing answers there; the profile was read first
      expect(((await stat(file)).mode & 0o777).toString(8)).toBe("600");
    },
  );
});
