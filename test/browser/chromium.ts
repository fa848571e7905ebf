/**
 * The browser the browser tests drive: Debian's chromium at /usr/bin/chromium, installed by the
 * test setup itself when it is missing (`apt-get update && apt-get install -y chromium`, as root
 * or through `sudo -n`), and launched through playwright-core with that executable — never a
 * browser build downloaded by a test tool.
 *
 * Where apt cannot be used (no apt-get, or neither root nor passwordless sudo) the tests are
 * skipped with a message that names what is missing — except in CI (`CI` set), where a missing
 * browser is a failure: CI must run them.
 *
 * The launch flags are the ones this closed network needs: no background networking, component
 * updates, sync or QUIC (each would try hosts that cannot be reached), no GPU, no sandbox (root),
 * and a fresh profile directory that `close()` removes.
 */
import { execFile, spawn } from "node:child_process";
import { access, constants, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

/** One install at a time on this machine: two test files may start the setup together. */
const INSTALL_LOCK = join(tmpdir(), "authchart-chromium-install.lock");

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

/** How long the setup hook may take: apt-get update and a chromium install take a minute or more. */
export const CHROMIUM_SETUP_TIMEOUT_MILLIS = 10 * 60_000;

export type ChromiumAvailability =
  | { readonly available: true; readonly executablePath: string }
  | { readonly available: false; readonly reason: string };

const log = (line: string) => console.log(`[browser setup] ${line}`);

const isExecutable = async (path: string) => {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The full path of a command on PATH, or undefined. */
const which = async (command: string): Promise<string | undefined> => {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir !== "" && (await isExecutable(join(dir, command)))) return join(dir, command);
  }
  return undefined;
};

const succeeds = (file: string, args: readonly string[]) =>
  new Promise<boolean>((resolve) => {
    execFile(file, args, { timeout: 10_000 }, (error) => resolve(error === null));
  });

/** Runs a command, its output logged line by line; resolves with the exit code. */
const run = (file: string, args: readonly string[]) =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    let pending = "";
    const onData = (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") log(`  ${line}`);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", reject);
    child.once("close", (code) => {
      if (pending.trim() !== "") log(`  ${pending}`);
      resolve(code ?? 1);
    });
  });

/** Unavailable outside CI (the tests skip with this reason); in CI a failure. */
const unavailable = (reason: string): ChromiumAvailability => {
  if (process.env.CI) {
    throw new Error(`CI must run the browser tests, but ${reason}`);
  }
  log(`skipping the browser tests: ${reason}`);
  return { available: false, reason };
};

let ensured: Promise<ChromiumAvailability> | undefined;

/**
 * /usr/bin/chromium, installed from Debian's packages when it is missing. Resolves unavailable
 * (outside CI) when apt cannot be used; rejects when an install was attempted and failed, or in CI.
 */
export const ensureChromium = (): Promise<ChromiumAvailability> => {
  ensured ??= ensure();
  return ensured;
};

const ensure = async (): Promise<ChromiumAvailability> => {
  if (await isExecutable(CHROMIUM_PATH)) {
    log(`using ${CHROMIUM_PATH}`);
    return { available: true, executablePath: CHROMIUM_PATH };
  }
  const aptGet = await which("apt-get");
  if (aptGet === undefined) {
    return unavailable(
      `${CHROMIUM_PATH} is missing and apt-get is not available to install Debian's chromium package; install chromium at ${CHROMIUM_PATH} to run them`,
    );
  }
  const root = process.getuid?.() === 0;
  const sudo = root ? undefined : await which("sudo");
  if (!root && (sudo === undefined || !(await succeeds(sudo, ["-n", "true"])))) {
    return unavailable(
      `${CHROMIUM_PATH} is missing and installing it needs root: not root, and ${sudo === undefined ? "no sudo" : "sudo -n (without a password) refused"}; run \`sudo apt-get install -y chromium\` once`,
    );
  }
  // The install runs under an exclusive lock and checks again inside it: a second test file
  // waits for the first install instead of fighting over dpkg's lock.
  const script = `test -x ${CHROMIUM_PATH} || { apt-get update && apt-get install -y chromium; }`;
  const flock = await which("flock");
  const command =
    flock === undefined ? ["sh", "-c", script] : [flock, INSTALL_LOCK, "sh", "-c", script];
  const [file, ...args] = sudo === undefined ? command : [sudo, "-n", ...command];
  log(
    `${CHROMIUM_PATH} is missing; installing Debian's chromium: ${root ? "" : "sudo -n "}apt-get update && apt-get install -y chromium`,
  );
  const started = Date.now();
  const code = await run(file as string, args);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (code !== 0 || !(await isExecutable(CHROMIUM_PATH))) {
    throw new Error(
      `installing Debian's chromium failed (exit code ${code} after ${seconds} s); see the [browser setup] lines above`,
    );
  }
  log(`installed ${CHROMIUM_PATH} in ${seconds} s`);
  return { available: true, executablePath: CHROMIUM_PATH };
};

export interface LaunchedChromium {
  readonly context: BrowserContext;
  /** Requests the browser tried to make to anything but loopback (refused). */
  readonly blocked: readonly string[];
  /** Closes the browser and removes its profile directory. */
  readonly close: () => Promise<void>;
}

const isLoopback = (url: string) => {
  try {
    const { protocol, hostname } = new URL(url);
    if (protocol === "data:" || protocol === "about:") return true;
    return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
  } catch {
    return false;
  }
};

/**
 * Launches chromium headless with a fresh profile. Every request that leaves loopback is refused
 * in the browser (and recorded): the pages under test are all on this machine, and oidc-provider's
 * development pages import a web font that must not be fetched.
 */
export const launchChromium = async (executablePath: string): Promise<LaunchedChromium> => {
  const userDataDir = await mkdtemp(join(tmpdir(), "authchart-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
  // A step that cannot happen fails with the locator it waited for, within the test's timeout.
  context.setDefaultTimeout(15_000);
  const blocked: string[] = [];
  await context.route(
    (url) => !isLoopback(url.href),
    (route) => {
      blocked.push(route.request().url());
      return route.abort("blockedbyclient");
    },
  );
  let closing: Promise<void> | undefined;
  return {
    context,
    blocked,
    close: () => {
      closing ??= context.close().finally(() => rm(userDataDir, { recursive: true, force: true }));
      return closing;
    },
  };
};
