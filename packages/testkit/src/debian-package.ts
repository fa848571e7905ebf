/**
 * A program the tests need from Debian's packages (chromium for the browser tests, redis-server
 * for the replica tests), installed by the test setup itself when it is missing — `apt-get update
 * && apt-get install -y <package>`, as root or through `sudo -n`, under a flock so that two test
 * files install once — never a build downloaded by a test tool.
 *
 * Where apt cannot be used (no apt-get, or neither root nor passwordless sudo) the tests are
 * skipped with a message that names what is missing — except in CI (`CI` set), where a missing
 * program is a failure: CI must run them.
 */
import { execFile, spawn } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface DebianProgram {
  /** The package, e.g. "chromium". */
  readonly packageName: string;
  /** The executable it installs, e.g. /usr/bin/chromium. */
  readonly executable: string;
  /** Which tests need it, for the messages: "the browser tests". */
  readonly tests: string;
  /** The prefix of the setup's log lines: "browser setup". */
  readonly logPrefix: string;
  /** Extra apt-get install options, e.g. --no-install-recommends. */
  readonly installOptions?: readonly string[];
  /** Extra environment for the install (RUNLEVEL=1: start no service). */
  readonly env?: Readonly<Record<string, string>>;
}

export type DebianProgramAvailability =
  | { readonly available: true; readonly executablePath: string }
  | { readonly available: false; readonly reason: string };

/** How long a setup may take: apt-get update and an install take a minute or more. */
export const DEBIAN_SETUP_TIMEOUT_MILLIS = 10 * 60_000;

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
const run = (
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  log: (line: string) => void,
) =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive", ...env },
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

const ensured = new Map<string, Promise<DebianProgramAvailability>>();

/**
 * The program, installed from Debian's packages when it is missing. Resolves unavailable
 * (outside CI) when apt cannot be used; rejects when an install was attempted and failed, or in
 * CI. Once per program and process.
 */
export const ensureDebianProgram = (program: DebianProgram): Promise<DebianProgramAvailability> => {
  let pending = ensured.get(program.executable);
  if (pending === undefined) {
    pending = ensure(program);
    ensured.set(program.executable, pending);
  }
  return pending;
};

const ensure = async (program: DebianProgram): Promise<DebianProgramAvailability> => {
  const { executable, packageName, tests } = program;
  const log = (line: string) => console.log(`[${program.logPrefix}] ${line}`);
  const unavailable = (reason: string): DebianProgramAvailability => {
    if (process.env.CI) throw new Error(`CI must run ${tests}, but ${reason}`);
    log(`skipping ${tests}: ${reason}`);
    return { available: false, reason };
  };
  if (await isExecutable(executable)) {
    log(`using ${executable}`);
    return { available: true, executablePath: executable };
  }
  if ((await which("apt-get")) === undefined) {
    return unavailable(
      `${executable} is missing and apt-get is not available to install Debian's ${packageName} package; install ${packageName} to run them`,
    );
  }
  const root = process.getuid?.() === 0;
  const sudo = root ? undefined : await which("sudo");
  if (!root && (sudo === undefined || !(await succeeds(sudo, ["-n", "true"])))) {
    return unavailable(
      `${executable} is missing and installing it needs root: not root, and ${sudo === undefined ? "no sudo" : "sudo -n (without a password) refused"}; run \`sudo apt-get install -y ${packageName}\` once`,
    );
  }
  // The install runs under an exclusive lock and checks again inside it: a second test file
  // waits for the first install instead of fighting over dpkg's lock.
  const install = ["apt-get", "install", "-y", ...(program.installOptions ?? []), packageName];
  const script = `test -x ${executable} || { apt-get update && ${install.join(" ")}; }`;
  const lock = join(tmpdir(), `authchart-${packageName}-install.lock`);
  const flock = await which("flock");
  const command = flock === undefined ? ["sh", "-c", script] : [flock, lock, "sh", "-c", script];
  const [file, ...args] = sudo === undefined ? command : [sudo, "-n", ...command];
  log(
    `${executable} is missing; installing Debian's ${packageName}: ${root ? "" : "sudo -n "}apt-get update && ${install.join(" ")}`,
  );
  const started = Date.now();
  const code = await run(file as string, args, program.env ?? {}, log);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (code !== 0 || !(await isExecutable(executable))) {
    throw new Error(
      `installing Debian's ${packageName} failed (exit code ${code} after ${seconds} s); see the [${program.logPrefix}] lines above`,
    );
  }
  log(`installed ${executable} in ${seconds} s`);
  return { available: true, executablePath: executable };
};
