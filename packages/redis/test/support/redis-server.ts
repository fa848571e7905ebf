/**
 * The real Redis the tests use: Debian's redis-server, installed by the test setup itself when it
 * is missing (`apt-get update && apt-get install -y redis-server`, as root or through `sudo -n`,
 * under a flock so that two test files install once), as the browser tests install chromium
 * (test/browser/chromium.ts). Where apt cannot be used the tests are skipped with a message that
 * names what is missing — except in CI (`CI` set), where that is a failure.
 *
 * Each server runs on a free loopback port with its own temporary directory, AOF on with an
 * fsync per write (`appendfsync always`: a write Redis acknowledged survives a kill), no RDB
 * snapshots, and is stopped (and its directory removed) by `stop()`. `restart()` kills it
 * (SIGKILL) and starts it again on the same port and directory, from its AOF.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { access, constants, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REDIS_SERVER_PATH = "/usr/bin/redis-server";
const INSTALL_LOCK = join(tmpdir(), "authchart-redis-install.lock");

/** How long the setup may take: apt-get update and an install take a minute or more. */
export const REDIS_SETUP_TIMEOUT_MILLIS = 10 * 60_000;

export type RedisAvailability =
  | { readonly available: true; readonly executablePath: string }
  | { readonly available: false; readonly reason: string };

const log = (line: string) => console.log(`[redis setup] ${line}`);

const isExecutable = async (path: string) => {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

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

const run = (file: string, args: readonly string[]) =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ["ignore", "pipe", "pipe"],
      // No service started by the package's maintainer scripts: the tests start their own.
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive", RUNLEVEL: "1" },
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

const unavailable = (reason: string): RedisAvailability => {
  if (process.env.CI) throw new Error(`CI must run the Redis tests, but ${reason}`);
  log(`skipping the Redis tests: ${reason}`);
  return { available: false, reason };
};

let ensured: Promise<RedisAvailability> | undefined;

/** /usr/bin/redis-server, installed from Debian's packages when it is missing. */
export const ensureRedisServer = (): Promise<RedisAvailability> => {
  ensured ??= ensure();
  return ensured;
};

const ensure = async (): Promise<RedisAvailability> => {
  if (await isExecutable(REDIS_SERVER_PATH)) {
    return { available: true, executablePath: REDIS_SERVER_PATH };
  }
  const aptGet = await which("apt-get");
  if (aptGet === undefined) {
    return unavailable(
      `${REDIS_SERVER_PATH} is missing and apt-get is not available to install Debian's redis-server package; install redis-server to run them`,
    );
  }
  const root = process.getuid?.() === 0;
  const sudo = root ? undefined : await which("sudo");
  if (!root && (sudo === undefined || !(await succeeds(sudo, ["-n", "true"])))) {
    return unavailable(
      `${REDIS_SERVER_PATH} is missing and installing it needs root: not root, and ${sudo === undefined ? "no sudo" : "sudo -n (without a password) refused"}; run \`sudo apt-get install -y redis-server\` once`,
    );
  }
  const script = `test -x ${REDIS_SERVER_PATH} || { apt-get update && apt-get install -y --no-install-recommends redis-server; }`;
  const flock = await which("flock");
  const command =
    flock === undefined ? ["sh", "-c", script] : [flock, INSTALL_LOCK, "sh", "-c", script];
  const [file, ...args] = sudo === undefined ? command : [sudo, "-n", ...command];
  log(
    `${REDIS_SERVER_PATH} is missing; installing Debian's redis-server: ${root ? "" : "sudo -n "}apt-get update && apt-get install -y redis-server`,
  );
  const started = Date.now();
  const code = await run(file as string, args);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (code !== 0 || !(await isExecutable(REDIS_SERVER_PATH))) {
    throw new Error(
      `installing Debian's redis-server failed (exit code ${code} after ${seconds} s); see the [redis setup] lines above`,
    );
  }
  log(`installed ${REDIS_SERVER_PATH} in ${seconds} s`);
  return { available: true, executablePath: REDIS_SERVER_PATH };
};

/** A port nobody listens on now (the server binds it right after; a clash is retried). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly directory: string;
  /** Kills it (SIGKILL) and starts it again on the same port, from its AOF. */
  readonly restart: () => Promise<void>;
  /** Kills it; `start()` brings it back. */
  readonly kill: () => Promise<void>;
  readonly start: () => Promise<void>;
  /** Stops it and removes its directory. */
  readonly stop: () => Promise<void>;
}

/** Starts redis-server on `port` in `directory`; resolves once it accepts connections. */
const launch = (executablePath: string, port: number, directory: string) =>
  new Promise<ChildProcess>((resolve, reject) => {
    const child = spawn(
      executablePath,
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        directory,
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--daemonize",
        "no",
        "--loglevel",
        "notice",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.includes("Ready to accept connections")) resolve(child);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      reject(new Error(`redis-server exited (${code ?? signal}): ${output.slice(-1000)}`)),
    );
  });

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once("exit", () => resolve()));

export const startRedisServer = async (executablePath: string): Promise<RedisServer> => {
  const directory = await mkdtemp(join(tmpdir(), "authchart-redis-"));
  let port = 0;
  let child: ChildProcess | undefined;
  for (let attempt = 0; child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await launch(executablePath, port, directory);
    } catch (error) {
      if (attempt >= 4) {
        await rm(directory, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const kill = async () => {
    if (child === undefined) return;
    const running = child;
    child = undefined;
    running.kill("SIGKILL");
    await exited(running);
  };
  const start = async () => {
    if (child === undefined) child = await launch(executablePath, port, directory);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    directory,
    kill,
    start,
    restart: async () => {
      await kill();
      await start();
    },
    stop: async () => {
      await kill();
      await rm(directory, { recursive: true, force: true });
    },
  };
};

/**
 * Waits until `redis` (a client under test, reconnecting by itself) answers PING, for at most
 * `deadlineMillis`: a Redis just restarted on a loaded machine takes longer to be reached again
 * than an operation's bound allows, and a test that goes on with "Redis is back" must not race
 * that. Rejects, naming the deadline, if it never answers.
 */
export const untilAnswers = async (
  redis: { ping: () => Promise<unknown> },
  deadlineMillis = 30_000,
): Promise<void> => {
  const deadline = Date.now() + deadlineMillis;
  for (;;) {
    const answered = await Promise.race([
      redis.ping().then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 1_000)),
    ]);
    if (answered) return;
    if (Date.now() > deadline)
      throw new Error(`Redis did not answer PING within ${deadlineMillis} ms of its restart`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};
