/**
 * The real Redis the tests use: Debian's redis-server, installed by the test setup itself when it
 * is missing (testkit's ensureDebianProgram, as the browser tests install chromium: apt-get under
 * a flock, skipped only without apt, failing in CI).
 *
 * Each server runs on a free loopback port with its own temporary directory, AOF on with an
 * fsync per write (`appendfsync always`: a write Redis acknowledged survives a kill), no RDB
 * snapshots, and is stopped (and its directory removed) by `stop()`. `restart()` kills it
 * (SIGKILL) and starts it again on the same port and directory, from its AOF.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DEBIAN_SETUP_TIMEOUT_MILLIS,
  type DebianProgramAvailability,
  ensureDebianProgram,
} from "@authchart/testkit";

export const REDIS_SERVER_PATH = "/usr/bin/redis-server";

/** How long the setup may take: apt-get update and an install take a minute or more. */
export const REDIS_SETUP_TIMEOUT_MILLIS = DEBIAN_SETUP_TIMEOUT_MILLIS;

export type RedisAvailability = DebianProgramAvailability;

/** /usr/bin/redis-server, installed from Debian's packages when it is missing. */
export const ensureRedisServer = (): Promise<RedisAvailability> =>
  ensureDebianProgram({
    packageName: "redis-server",
    executable: REDIS_SERVER_PATH,
    tests: "the Redis tests",
    logPrefix: "redis setup",
    installOptions: ["--no-install-recommends"],
    // No service started by the package's maintainer scripts: the tests start their own.
    env: { RUNLEVEL: "1" },
  });

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
