/**
 * Many replicas, one grant: the run the test asserts on and `npm run bench:replicas` prints.
 *
 * A real redis-server (AOF on), the testkit's oidc-provider with short-lived access tokens and
 * rotating refresh tokens (a reused one is invalid_grant and revokes the grant) and its MCP
 * server; one login in this process over the Redis store; then REPLICAS child processes
 * (bench/replica.ts), each with its sessions and callers, for the run's duration. Optionally, in
 * the middle: the replica that holds the lock in the middle of a refresh (paused just before its
 * refresh request) is SIGKILLed and replaced (by one more replica started with the others and
 * idle until then), and Redis is SIGKILLed and restarted from its AOF.
 *
 * Counts come from the testkit's request log (refresh requests and their answers, logins) and
 * from the replicas (calls, failures, refresh tokens presented, calls that took up another
 * replica's token); Redis round trips from Redis's own INFO stats.
 */
import { createSession } from "@authchart/core";
import { startTestkit, type Testkit } from "@authchart/testkit";
import { Redis } from "ioredis";
import { redisAuth } from "../src/layers.js";
import { type Child, prepareChild, startChild, stopChildren } from "../test/support/children.js";
import type { RedisServer } from "../test/support/redis-server.js";
import type { ReplicaResult } from "./replica.js";

export interface ReplicasOptions {
  readonly replicas: number;
  /** Sessions per replica (each its own createSession over the shared store). */
  readonly sessions: number;
  /** Callers per session, each calling back to back. */
  readonly concurrency: number;
  readonly durationMillis: number;
  readonly accessTokenTtlSeconds: number;
  /**
   * Refresh this long before expiry (core's refreshSkewMillis; core goes no further ahead than
   * half a token's lifetime).
   */
  readonly refreshSkewMillis: number;
  readonly leaseMillis: number;
  /** A pause between one caller's calls. Default 0. */
  readonly pauseMillis?: number | undefined;
  /**
   * Kill the lock holder mid-refresh: the first replica to refresh once this fraction of the run
   * has passed (the run goes on past its duration until one did).
   */
  readonly killHolderAt?: number | undefined;
  /**
   * Restart Redis (SIGKILL, start from the AOF) once this fraction of the run has passed and no
   * refresh is under way (after the kill's, if any); the run goes on until a refresh after it.
   */
  readonly restartRedisAt?: number | undefined;
  readonly log?: ((line: string) => void) | undefined;
}

export interface ReplicasReport {
  readonly options: ReplicasOptions;
  readonly calls: number;
  readonly failedCalls: number;
  readonly failures: Readonly<Record<string, number>>;
  /** Refresh requests the authorization server answered, and how many it refused. */
  readonly refreshRequests: number;
  readonly refusedRefreshes: number;
  /** Refresh requests the replicas sent (should equal the above). */
  readonly replicaRefreshes: number;
  /** Refresh tokens presented more than once across replicas (a rotation refreshed twice). */
  readonly reusedRefreshTokens: number;
  /**
   * The shortest time between two refresh requests the authorization server answered, and the
   * least it may be. core refreshes a token no sooner than half its lifetime after it was
   * obtained: two refreshes of one rotation — a replica refreshing again instead of taking up
   * the stored token set, even with the new refresh token — would come right after each other.
   * Load only makes the gaps longer. Undefined with fewer than two refreshes.
   */
  readonly closestRefreshesMillis: number | undefined;
  readonly refreshesApartAtLeastMillis: number;
  /** Authorization requests during the run (logins after the first), and replicas' attempts to log in. */
  readonly extraAuthorizations: number;
  readonly replicaLogins: number;
  /** Calls that took up a token another replica refreshed, and their added latency. */
  readonly adoptedCalls: number;
  readonly addedP50Millis: number;
  readonly addedP99Millis: number;
  /** Redis commands processed during the run, per call. */
  readonly redisRoundTripsPerCall: number;
  /** Whether the lock holder was killed mid-refresh, and Redis restarted. */
  readonly killedHolder: boolean;
  readonly restartedRedis: boolean;
}

const CLIENT_NAME = "authchart replicas";
const REDIRECT_URI = "http://127.0.0.1:33418/callback";
const PREFIX = "replicas:";

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));

const percentile = (values: readonly number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

/** Redis's count of commands processed since it started (INFO stats). */
const commandsProcessed = async (url: string) => {
  const redis = new Redis(url, { lazyConnect: true });
  try {
    await redis.connect();
    const info = await redis.info("stats");
    const match = /total_commands_processed:(\d+)/.exec(info);
    // The INFO command itself counts once.
    return match === null ? 0 : Number(match[1]) - 1;
  } finally {
    redis.disconnect();
  }
};

/** One login in this process, leaving the session and its tokens in Redis. */
const loginOnce = async (kit: Testkit, url: string) => {
  const auth = await redisAuth({ url, prefix: PREFIX });
  try {
    const session = await createSession({
      serverUrl: kit.mcpUrl,
      store: auth.store,
      lock: auth.lock,
      client: { clientName: CLIENT_NAME, redirectUris: [REDIRECT_URI] },
      userAgent: (prompt) => kit.user.authorize(prompt.url),
    });
    const response = await session.fetch(kit.mcpUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "login" } },
      }),
    });
    await response.text();
    if (response.status !== 200) throw new Error(`the first call answered ${response.status}`);
    if (session.state().token?.hasRefreshToken !== true)
      throw new Error("the login gave no refresh token");
    await session.close();
  } finally {
    await auth.close();
  }
};

export const runReplicas = async (
  server: RedisServer,
  options: ReplicasOptions,
): Promise<ReplicasReport> => {
  const logLine = options.log ?? (() => undefined);
  const t0 = Date.now();
  const log = (line: string) => logLine(`+${((Date.now() - t0) / 1000).toFixed(1)} s ${line}`);
  // Bundled while the testkit starts and the user logs in.
  const bundled = prepareChild("bench/replica.ts");
  bundled.catch(() => undefined);
  const kit = await startTestkit({
    authServer: {
      accessTokenTtlSeconds: options.accessTokenTtlSeconds,
      refreshTokenRotation: true,
    },
  });
  try {
    await loginOnce(kit, server.url);
    await bundled;
    log("testkit started, logged in, replica bundled");
    kit.clearLog();
    const env = {
      REDIS_URL: server.url,
      PREFIX,
      MCP_URL: kit.mcpUrl,
      CLIENT_NAME,
      REDIRECT_URI,
      SESSIONS: String(options.sessions),
      CONCURRENCY: String(options.concurrency),
      PAUSE_MILLIS: String(options.pauseMillis ?? 0),
      LEASE_MILLIS: String(options.leaseMillis),
      REFRESH_SKEW_MILLIS: String(options.refreshSkewMillis),
    };
    /** Every refresh token presented, as the replicas print them (a killed one's too). */
    const presented: string[] = [];
    /** The token version each replica's sessions hold (the oldest of them), as last reported. */
    const holds = new Map<Child, number>();
    const start = async () => {
      const child = await startChild("bench/replica.ts", env);
      child.onLine((line) => {
        if (line.startsWith("refresh ")) presented.push(line.slice("refresh ".length));
        else if (line.startsWith("holds ")) holds.set(child, Number(line.slice("holds ".length)));
      });
      await child.line((line) => line === "ready");
      return child;
    };
    // With a holder to kill, one more: its replacement, started now with the others (a process
    // started mid-run on a busy machine took seconds to come up), idle until it takes the
    // killed one's place.
    const spares = options.killHolderAt === undefined ? 0 : 1;
    log(`starting ${options.replicas} replicas${spares > 0 ? " and a replacement" : ""}`);
    const started = await Promise.all(
      Array.from({ length: options.replicas + spares }, () => start()),
    );
    const replicas: Child[] = started.slice(0, options.replicas);
    let replacement: Child | undefined = started[options.replicas];
    log("replicas ready");
    const finished: ReplicaResult[] = [];
    let killedHolder = false;
    /** The newest version a replica held when the holder was killed. */
    let heldAtKill = 0;
    let restartedRedis = false;
    let redisCommands = 0;
    let commandsBase = await commandsProcessed(server.url);

    /** The first replica to pause at a refresh is killed there; any later one goes on. */
    const watchPauses = (child: Child) => {
      void child
        .line((line) => line === "refresh-paused")
        .then(async () => {
          if (killedHolder) return child.send("continue");
          killedHolder = true;
          heldAtKill = Math.max(0, ...holds.values());
          for (const other of replicas) if (other !== child) other.send("disarm");
          log(`killing pid ${child.process.pid}: it holds the lock in the middle of a refresh`);
          replicas.splice(replicas.indexOf(child), 1);
          child.process.kill("SIGKILL");
          if (replacement !== undefined) {
            replicas.push(replacement);
            replacement.send("go");
            replacement = undefined;
          }
        })
        .catch(() => undefined);
    };
    for (const child of replicas) {
      watchPauses(child);
      child.send("go");
    }
    const began = Date.now();
    const deadline = began + options.durationMillis + 120_000;
    /** Waits until `done()`, checking every 50 ms; past the deadline, fails saying for what. */
    const until = async (done: () => boolean, what: string) => {
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`the run gave up waiting for ${what}`);
        await sleep(50);
      }
    };
    const refreshesAnswered = () =>
      kit.requests.filter((r) => r.kind === "token" && r.grantType === "refresh_token").length;
    /** The version every running replica holds, if they all hold the same one. */
    const commonHold = () => {
      const versions = new Set(replicas.map((child) => holds.get(child)));
      const [only] = versions;
      return versions.size === 1 && only !== undefined ? only : undefined;
    };

    // The disruptions come at the given fractions of the run at the earliest, and each when the
    // run has reached the point it is about, whatever the machine's speed: the kill at a refresh
    // (paused before its request), the restart when no refresh is under way — every replica
    // holds a token refreshed since the kill (or since the restart's time came), so the next
    // refresh is half a token's lifetime away. The run ends after its duration, once both
    // happened and a refresh was answered after the restart (the token set Redis kept is the
    // one the next refresh presents).
    const killing = options.killHolderAt !== undefined;
    if (killing) {
      await sleep(
        Math.max(0, began + (options.killHolderAt ?? 0) * options.durationMillis - Date.now()),
      );
      log("arming: the next replica to refresh pauses mid-refresh and is killed");
      for (const child of replicas) child.send("arm");
    }
    let answeredAtRestart = 0;
    if (options.restartRedisAt !== undefined) {
      await sleep(
        Math.max(0, began + options.restartRedisAt * options.durationMillis - Date.now()),
      );
      await until(() => !killing || killedHolder, "a replica to refresh, to kill it there");
      const before = killing ? heldAtKill : Math.max(0, ...holds.values());
      await until(
        () => (commonHold() ?? 0) > before,
        "every replica to hold a token refreshed after the kill (or the restart's time)",
      );
      redisCommands += (await commandsProcessed(server.url)) - commandsBase;
      answeredAtRestart = refreshesAnswered();
      log("restarting Redis (SIGKILL, then from its AOF)");
      await server.restart();
      log("Redis is back");
      restartedRedis = true;
      commandsBase = 0;
    }
    await sleep(Math.max(0, began + options.durationMillis - Date.now()));
    await until(() => !killing || killedHolder, "a replica to refresh, to kill it there");
    await until(
      () => !restartedRedis || refreshesAnswered() > answeredAtRestart,
      "a refresh after the restart of Redis",
    );
    log("stopping");
    // A replacement that never took a place stops too (an idle session may have refreshed).
    const running = replacement === undefined ? [...replicas] : [...replicas, replacement];
    for (const child of running) child.send("stop");
    for (const child of running) {
      const line = await child.line((l) => l.startsWith('{"result"'));
      finished.push((JSON.parse(line) as { result: ReplicaResult }).result);
    }
    redisCommands += (await commandsProcessed(server.url)) - commandsBase;
    log("stopped");

    const refreshes = kit.requests.filter(
      (r) => r.kind === "token" && r.grantType === "refresh_token",
    );
    const calls = finished.reduce((n, r) => n + r.calls, 0);
    const failures: Record<string, number> = {};
    for (const r of finished)
      for (const [what, n] of Object.entries(r.failures))
        failures[what] = (failures[what] ?? 0) + n;
    const added = finished.flatMap((r) =>
      r.adoptedMillis.map((m) => Math.max(0, m - r.baselineMillis)),
    );
    const lifetimeMillis = options.accessTokenTtlSeconds * 1000;
    return {
      options,
      calls,
      failedCalls: finished.reduce((n, r) => n + r.failed, 0),
      failures,
      refreshRequests: refreshes.length,
      refusedRefreshes: refreshes.filter((r) => r.status !== 200).length,
      replicaRefreshes: presented.length,
      reusedRefreshTokens: presented.length - new Set(presented).size,
      closestRefreshesMillis:
        refreshes.length < 2
          ? undefined
          : Math.min(...refreshes.slice(1).map((r, i) => r.at - (refreshes[i]?.at ?? 0))),
      // Half the lifetime, less a second: servers round a token's expiry down to the second.
      refreshesApartAtLeastMillis: lifetimeMillis / 2 - 1_000,
      extraAuthorizations: kit.count("authorization"),
      replicaLogins: finished.reduce((n, r) => n + r.logins, 0),
      adoptedCalls: added.length,
      addedP50Millis: percentile(added, 50),
      addedP99Millis: percentile(added, 99),
      redisRoundTripsPerCall: calls === 0 ? 0 : redisCommands / calls,
      killedHolder,
      restartedRedis,
    };
  } finally {
    await stopChildren();
    await kit.close();
  }
};
