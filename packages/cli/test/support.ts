/**
 * The CLI as a user runs it: `node dist/bin.js ...` in a child process, with its own
 * configuration directory, stdout, stderr and exit code. In paste mode (--headless) the sign-in
 * address it prints on stderr is answered by the testkit's headless user, and the address the
 * browser would end on is pasted on its stdin — as a person would.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import type { Testkit } from "@authchart/testkit";

export const binPath = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** How many sign-ins the run asked for (and the user answered). */
  readonly signIns: number;
}

export interface RunOptions {
  readonly configDir?: string;
  /** Answers each sign-in address printed on stderr (paste mode). */
  readonly kit?: Testkit;
  readonly env?: Readonly<Record<string, string>>;
  /** Called with everything written to stderr so far, on each write. */
  readonly onStderr?: (stderr: string, child: ChildProcess) => void;
}

const SIGN_IN = /Open this address in a browser to sign in:\s+(\S+)/g;

export const runCli = (args: readonly string[], options: RunOptions = {}): Promise<CliRun> =>
  new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, ...options.env };
    delete env.FORCE_COLOR;
    delete env.NO_COLOR;
    if (options.configDir !== undefined) env.AUTHCHART_CONFIG_DIR = options.configDir;
    const child = spawn(process.execPath, [binPath, ...args], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let answered = 0;
    let pending: Promise<unknown> = Promise.resolve();
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      options.onStderr?.(stderr, child);
      const kit = options.kit;
      if (kit === undefined) return;
      const addresses = [...stderr.matchAll(SIGN_IN)].map((match) => match[1] ?? "");
      for (const address of addresses.slice(answered)) {
        answered++;
        pending = pending.then(async () => {
          const callback = await kit.user.authorize(address);
          child.stdin.write(`${callback}\n`);
        });
      }
    });
    child.on("error", reject);
    child.on("close", (code) => {
      pending.then(
        () => resolve({ code, stdout, stderr, signIns: answered }),
        (error: unknown) => reject(error),
      );
    });
    if (options.kit === undefined && options.onStderr === undefined) child.stdin.end();
  });

/** A loopback port nothing listens on now (for the redirect URI). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

/** ANSI escape sequences: none may reach a pipe. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts every ANSI sequence
export const ANSI = /\u001b\[/;

/** The `script` command of util-linux, which runs a command on a new pseudo-terminal. */
export const scriptCommand = (() => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * The CLI on a terminal: `script -qec` gives it a pseudo-terminal for stdin, stdout and stderr
 * (both arrive here as the terminal's output, with CR LF line ends). The spinner is kept off
 * (CI=1) so that the output is the command's own.
 */
export const runCliOnTerminal = (
  args: readonly string[],
  options: { readonly configDir: string; readonly env?: Readonly<Record<string, string>> },
): Promise<{ readonly code: number | null; readonly output: string }> =>
  new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, CI: "1" };
    delete env.FORCE_COLOR;
    delete env.NO_COLOR;
    Object.assign(env, options.env, { AUTHCHART_CONFIG_DIR: options.configDir });
    const command = [process.execPath, binPath, ...args].map(shellQuote).join(" ");
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
    child.stdin.end();
  });
