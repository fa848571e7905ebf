/** The file lock (SessionLock for processes sharing a file store). */
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { LockTimeout, tokenLockName } from "@authchart/core";
import { Effect, Exit } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { lockFileName, makeFileLock } from "../src/file-lock.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
const lockDir = async () => {
  const base = await mkdtemp(join(tmpdir(), "authchart-lock-test-"));
  dirs.push(base);
  return join(base, "locks");
};

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

  it("a lock older than the lease is taken over even when its pid lives", async () => {
    const directory = await lockDir();
    const lock = makeFileLock({ directory, leaseMillis: 1_000 });
    await Effect.runPromise(lock.withLock("warm", Effect.void));
    await writeFile(
      join(directory, lockFileName("tokens-old")),
      JSON.stringify({
        pid: process.pid,
        hostname: hostname(),
        startedAt: Date.now() - 5_000,
        id: "old",
      }),
    );
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
