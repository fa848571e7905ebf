/**
 * Real child processes for the cross-process tests and the replicas bench: a program of this
 * package, spoken to by lines on stdin and stdout.
 *
 * Each program is bundled once per test process (`prepareChild`), with the esbuild that vite —
 * vitest's bundler — ships: the sources of this package and of core with the "@authchart/source"
 * condition (the TypeScript the tests run on, as vitest.shared.ts resolves it) and every
 * dependency in one file, run with plain node. Started with vite-node instead, each child
 * transformed core's sources and loaded effect's hundreds of modules itself: ~4 s a child on a
 * loaded 2-core machine against ~1 s, and the many-replicas test starts nine.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, "..", "..");

/** What is used here of esbuild's API (https://esbuild.github.io/api/#build). */
interface Esbuild {
  readonly build: (options: Record<string, unknown>) => Promise<unknown>;
}

/** The esbuild vite depends on, vite being the one vitest depends on. */
const loadEsbuild = async (): Promise<Esbuild> => {
  const fromVitest = createRequire(createRequire(import.meta.url).resolve("vitest/package.json"));
  const fromVite = createRequire(fromVitest.resolve("vite/package.json"));
  return (await import(pathToFileURL(fromVite.resolve("esbuild")).href)) as Esbuild;
};

let buildDirectory: Promise<string> | undefined;
const bundles = new Map<string, Promise<string>>();

/** The bundle of `program` (a path in this package), built on first use. */
export const prepareChild = (program: string): Promise<string> => {
  let bundle = bundles.get(program);
  if (bundle === undefined) {
    bundle = (async () => {
      buildDirectory ??= mkdtemp(join(tmpdir(), "authchart-redis-children-")).then((dir) => {
        process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
        return dir;
      });
      const outfile = join(await buildDirectory, `${basename(program, ".ts")}.mjs`);
      const esbuild = await loadEsbuild();
      await esbuild.build({
        absWorkingDir: packageDir,
        entryPoints: [join(packageDir, program)],
        outfile,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        conditions: ["@authchart/source", "module"],
        // CommonJS dependencies (ioredis) require node's modules; an ES module has no `require`.
        banner: {
          js: 'import { createRequire as __authchartRequire } from "node:module"; const require = __authchartRequire(import.meta.url);',
        },
        logLevel: "error",
      });
      return outfile;
    })();
    bundles.set(program, bundle);
  }
  return bundle;
};

/** Removes the bundles (they are removed at exit too). */
export const removeChildBundles = async () => {
  const dir = await buildDirectory;
  bundles.clear();
  buildDirectory = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
};

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
export const startChild = async (program: string, env: Record<string, string>): Promise<Child> => {
  const bundle = await prepareChild(program);
  const child = spawn(process.execPath, [bundle], {
    cwd: packageDir,
    env: { ...process.env, ...env },
    stdio: "pipe",
  });
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
