/**
 * Real child processes for the cross-process tests and the replicas bench: a program of this
 * package run with vite-node (the sources, as the tests use them), spoken to by lines on stdin
 * and stdout.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, "..", "..");
const viteNode = join(
  dirname(createRequire(import.meta.url).resolve("vite-node/package.json")),
  "vite-node.mjs",
);

export interface Child {
  readonly process: ChildProcessWithoutNullStreams;
  /** The first line (from now or already seen) that passes `test`; rejects if the child exits first. */
  readonly line: (test: (line: string) => boolean) => Promise<string>;
  readonly send: (line: string) => void;
  /** Calls `listener` with every line from now on. */
  readonly onLine: (listener: (line: string) => void) => void;
  /** The exit code or signal. */
  readonly exited: Promise<number | NodeJS.Signals>;
}

const started: Child[] = [];

/** Starts `program` (a path in this package) with `env` added to this process's environment. */
export const startChild = (program: string, env: Record<string, string>): Child => {
  const child = spawn(
    process.execPath,
    [viteNode, "--config", join(packageDir, "vitest.config.ts"), join(packageDir, program)],
    { cwd: packageDir, env: { ...process.env, ...env }, stdio: "pipe" },
  );
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += String(chunk);
  });
  const seen: string[] = [];
  const waiters = new Set<{ test: (line: string) => boolean; resolve: (line: string) => void }>();
  const listeners: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    seen.push(line);
    for (const listener of listeners) listener(line);
    for (const waiter of waiters)
      if (waiter.test(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
  });
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? signal ?? -1));
  });
  const handle: Child = {
    process: child,
    line: (test) => {
      const already = seen.find(test);
      if (already !== undefined) return Promise.resolve(already);
      return new Promise<string>((resolve, reject) => {
        waiters.add({ test, resolve });
        void exited.then((how) =>
          reject(new Error(`${program} exited (${how}); stderr: ${stderr.slice(-2000)}`)),
        );
      });
    },
    onLine: (listener) => {
      listeners.push(listener);
    },
    send: (line) => {
      child.stdin.write(`${line}\n`);
    },
    exited,
  };
  started.push(handle);
  return handle;
};

/** Kills what a test left running (call in afterEach). */
export const stopChildren = async () => {
  const running = started.splice(0);
  for (const child of running)
    if (child.process.exitCode === null && child.process.signalCode === null) {
      if (process.platform !== "win32") child.process.kill("SIGCONT");
      child.process.kill("SIGKILL");
    }
  await Promise.all(running.map((child) => child.exited));
};
