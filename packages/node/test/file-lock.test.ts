/** The file lock (SessionLock for processes sharing a file store). */
import { createHook } from "node:async_hooks";
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { LockTimeout, tokenLockName } from "@authchart/core";
import { Effect, Exit } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { lockFileName, makeFileLock } from "../src/file-lock.js";
import { startChild, stopChildren } from "./support/children.js";

const posix = process.platform !== "win32";
const dirs: string[] = [];
afterEach(async () => {
  await stopChildren();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
const lockDir = async () => {
  const base = await mkdtemp(join(tmpdir(), "authchart-lock-test-"));
  dirs.push(base);
  return join(base, "locks");
};

/** Resolves once `check` holds: a state to wait for, polled, never a fixed sleep. */
const until = async (check: () => Promise<boolean>, what: string) => {
  const limit = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > limit) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

/** A promise and the function that resolves it. */
const signal = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

const timeoutOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined;

/** A pid that was alive a moment ago and no longer is. */
const deadPid = () => {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(String(child.stdout));
};

describe("file lock", () => {
  it("mutual exclusion: 40 concurrent acquirers in one process, one at a time, all served", async () => {
    const directory = await lockDir();
    const lock = makeFileLock({ directory });
    let inside = 0;
    let most = 0;
    let served = 0;
    const counterFile = join(directory, "..", "counter");
    await writeFile(counterFile, "0");
    const critical = Effect.promise(async () => {
      inside++;
      most = Math.max(most, inside);
      // A read-modify-write that loses updates unless the lock excludes.
      const n = Number(await readFile(counterFile, "utf8"));
      await new Promise((resolve) => setTimeout(resolve, 2));
      await writeFile(counterFile, String(n + 1));
      inside--;
      served++;
    });
    await Effect.runPromise(
      Effect.all(
        Array.from({ length: 40 }, () =>
          lock.withLock("tokens-abc", critical, { waitMillis: 20_000 }),
        ),
        { concurrency: "unbounded", discard: true },
      ),
    );
    expect({ most, served, counter: Number(await readFile(counterFile, "utf8")) }).toEqual({
      most: 1,
      served: 40,
      counter: 40,
    });
    // Released: no lock file left; the directory is private.
    expect((await readdir(directory)).filter((f) => f.endsWith(".lock"))).toEqual([]);
    expect((await stat(directory)).mode & 0o777).toBe(0o700);
  });

  it("a stale lock of a dead pid on this host is taken over", async () => {
    const directory = await lockDir();
    const lock = makeFileLock({ directory });
    await Effect.runPromise(lock.withLock("warm", Effect.void)); // makes the directory
    const pid = deadPid();
    await writeFile(
      join(directory, lockFileName("tokens-dead")),
      JSON.stringify({ pid, hostname: hostname(), startedAt: Date.now(), id: "crashed" }),
    );
    const started = Date.now();
    const value = await Effect.runPromise(
      lock.withLock("tokens-dead", Effect.succeed("mine"), { waitMillis: 2_000 }),
    );
    expect(value).toBe("mine");
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("a lock whose heartbeat is older than staleMillis is taken over even when its pid lives", async () => {
    const directory = await lockDir();
    const lock = makeFileLock({ directory, staleMillis: 1_000 });
    await Effect.runPromise(lock.withLock("warm", Effect.void));
    const path = join(directory, lockFileName("tokens-old"));
    await writeFile(
      path,
      JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: Date.now(), id: "old" }),
    );
    // Its holder stopped beating 5 s ago.
    const lastBeat = new Date(Date.now() - 5_000);
    await utimes(path, lastBeat, lastBeat);
    const value = await Effect.runPromise(
      lock.withLock("tokens-old", Effect.succeed("mine"), { waitMillis: 2_000 }),
    );
    expect(value).toBe("mine");
  });

  it("the bounded wait ends in LockTimeout while a live holder keeps the lock", async () => {
    const directory = await lockDir();
    const lock = makeFileLock({ directory });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const holder = Effect.runPromise(
      lock.withLock(
        "tokens-busy",
        Effect.promise(async () => {
          entered();
          await held;
        }),
      ),
    );
    await inside;
    const started = Date.now();
    const exit = await Effect.runPromiseExit(
      lock.withLock("tokens-busy", Effect.succeed("never"), { waitMillis: 300 }),
    );
    const waited = Date.now() - started;
    expect(Exit.isFailure(exit)).toBe(true);
    if (Exit.isFailure(exit)) {
      const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined;
      expect(error).toBeInstanceOf(LockTimeout);
      expect(error).toMatchObject({ _tag: "LockTimeout", name: "tokens-busy", waitMillis: 300 });
    }
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(2_000);
    release();
    await holder;
    // Free again once released.
    expect(await Effect.runPromise(lock.withLock("tokens-busy", Effect.succeed(1)))).toBe(1);
  });

  it("the release removes the lock file only if it is still this holder's", async () => {
    const directory = await lockDir();
    const lock = makeFileLock({ directory });
    const path = join(directory, lockFileName("tokens-stolen"));
    const other = JSON.stringify({
      pid: process.pid,
      hostname: hostname(),
      startedAt: Date.now(),
      id: "other",
    });
    await Effect.runPromise(
      lock.withLock(
        "tokens-stolen",
        Effect.promise(() => writeFile(path, other)), // taken over meanwhile (past its lease)
      ),
    );
    expect(await readFile(path, "utf8")).toBe(other);
  });

  it("a failing effect releases the lock (no lock file left)", async () => {
    const directory = await lockDir();
    const lock = makeFileLock({ directory });
    const exit = await Effect.runPromiseExit(lock.withLock("tokens-fail", Effect.fail("boom")));
    expect(exit).toMatchObject({ _tag: "Failure" });
    expect((await readdir(directory)).filter((f) => f.endsWith(".lock"))).toEqual([]);
  });

  it("file names are hashes: no URL, no secret in them", async () => {
    const name = await Effect.runPromise(
      tokenLockName({
        resource: "https://mcp.example.com/mcp",
        issuer: "https://as.example.com",
        clientId: "client-1",
      }),
    );
    expect(name).toMatch(/^tokens-[0-9a-f]{40}$/);
    expect(lockFileName(name)).toBe(`${name}.lock`);
    expect(lockFileName("https://x.example/?secret=abc")).toMatch(/^[0-9a-f]{40}\.lock$/);
  });
});

describe("file lock heartbeat", () => {
  it("a holder holding past staleMillis keeps its lock: its heartbeat moves the file's time, a waiter times out", async () => {
    const directory = await lockDir();
    const options = { directory, staleMillis: 300, heartbeatMillis: 50 };
    const path = join(directory, lockFileName("tokens-slow"));
    const inside = signal();
    const done = signal();
    const holder = Effect.runPromise(
      makeFileLock(options).withLock(
        "tokens-slow",
        Effect.promise(async () => {
          inside.resolve();
          await done.promise;
        }),
      ),
    );
    await inside.promise;
    const content = await readFile(path, "utf8");
    const created = (await stat(path)).mtimeMs;
    await until(async () => (await stat(path)).mtimeMs > created, "the holder beats");
    // Waiting five times the stale age: the lock is never taken from its live holder.
    const exit = await Effect.runPromiseExit(
      makeFileLock(options).withLock("tokens-slow", Effect.succeed("stolen"), {
        waitMillis: 1_500,
      }),
    );
    expect(timeoutOf(exit)).toBeInstanceOf(LockTimeout);
    expect(await readFile(path, "utf8")).toBe(content);
    done.resolve();
    await holder;
    expect((await readdir(directory)).filter((f) => f.endsWith(".lock"))).toEqual([]);
  });

  it("the heartbeat timer is unref'd and stopped on release (no timer left behind)", async () => {
    const directory = await lockDir();
    const lock = makeFileLock({ directory, staleMillis: 200, heartbeatMillis: 10 });
    const path = join(directory, lockFileName("tokens-beat"));
    const timers = new Map<number, { hasRef: () => boolean }>();
    const destroyed = new Set<number>();
    const hook = createHook({
      init: (id, type, _trigger, resource) => {
        if (type === "Timeout") timers.set(id, resource as { hasRef: () => boolean });
      },
      destroy: (id) => {
        destroyed.add(id);
      },
    }).enable();
    try {
      await Effect.runPromise(
        lock.withLock(
          "tokens-beat",
          Effect.promise(async () => {
            const created = (await stat(path)).mtimeMs;
            await until(async () => (await stat(path)).mtimeMs > created, "the holder beats");
          }),
        ),
      );
      // Destroy hooks run asynchronously: let them.
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      hook.disable();
    }
    const unrefd = [...timers].filter(([, timer]) => !timer.hasRef());
    expect(unrefd.length).toBeGreaterThan(0);
    expect(unrefd.filter(([id]) => !destroyed.has(id))).toEqual([]);
  });

  it("another process holding past staleMillis keeps its lock: a waiter here times out, then gets it once released", async () => {
    const directory = await lockDir();
    const holder = startChild("lock-holder.ts", {
      LOCK_DIR: directory,
      LOCK_NAME: "tokens-child",
      STALE_MILLIS: "300",
      HEARTBEAT_MILLIS: "50",
    });
    await holder.line((l) => l === "held");
    const lock = makeFileLock({ directory, staleMillis: 300 });
    const exit = await Effect.runPromiseExit(
      lock.withLock("tokens-child", Effect.succeed("stolen"), { waitMillis: 1_500 }),
    );
    expect(timeoutOf(exit)).toBeInstanceOf(LockTimeout);
    expect(
      JSON.parse(await readFile(join(directory, lockFileName("tokens-child")), "utf8")),
    ).toMatchObject({
      pid: holder.process.pid,
    });
    const waiting = Effect.runPromise(
      lock.withLock("tokens-child", Effect.succeed("mine"), { waitMillis: 20_000 }),
    );
    holder.send("release");
    expect(await waiting).toBe("mine");
    expect(await holder.exited).toBe(0);
  }, 60_000);

  it("a holder killed while holding is recovered at once: its pid is gone (no stale age to wait)", async () => {
    const directory = await lockDir();
    const holder = startChild("lock-holder.ts", { LOCK_DIR: directory, LOCK_NAME: "tokens-kill" });
    await holder.line((l) => l === "held");
    holder.process.kill("SIGKILL");
    await holder.exited;
    // The default stale age is 20 s; the wait is shorter.
    const value = await Effect.runPromise(
      makeFileLock({ directory }).withLock("tokens-kill", Effect.succeed("mine"), {
        waitMillis: 5_000,
      }),
    );
    expect(value).toBe("mine");
  }, 60_000);

  it.skipIf(!posix)(
    "a holder stopped (SIGSTOP) stops beating: recovered once its heartbeat is stale; awake again, its release leaves the new lock alone",
    async () => {
      const directory = await lockDir();
      const path = join(directory, lockFileName("tokens-stop"));
      const holder = startChild("lock-holder.ts", {
        LOCK_DIR: directory,
        LOCK_NAME: "tokens-stop",
        STALE_MILLIS: "500",
        HEARTBEAT_MILLIS: "50",
      });
      await holder.line((l) => l === "held");
      holder.process.kill("SIGSTOP");
      const lock = makeFileLock({ directory, staleMillis: 500 });
      const mine = await Effect.runPromise(
        lock.withLock(
          "tokens-stop",
          Effect.promise(async () => {
            const content = await readFile(path, "utf8");
            expect(JSON.parse(content)).toMatchObject({ pid: process.pid });
            holder.process.kill("SIGCONT");
            holder.send("release");
            await holder.line((l) => l === "released");
            // The woken holder's release did not remove this lock.
            return readFile(path, "utf8").then((now) => now === content);
          }),
          { waitMillis: 10_000 },
        ),
      );
      expect(mine).toBe(true);
      expect((await readdir(directory)).filter((f) => f.endsWith(".lock"))).toEqual([]);
    },
    60_000,
  );
});
