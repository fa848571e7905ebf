/**
 * The file store across real processes: concurrent writers each add their own entries to one
 * store, and none is lost (every read-modify-write holds the store's write lock, `store.lock`);
 * a writer that crashed while holding that lock does not block the store.
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { StoreFailed, type TokenSet } from "@authchart/core";
import { Effect, Option, Redacted } from "effect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lockFileName } from "../src/file-lock.js";
import { fileStore, METADATA_FILE, SECRETS_FILE, STORE_LOCK_NAME } from "../src/file-store.js";
import { startChild, stopChildren } from "./support/children.js";

const posix = process.platform !== "win32";
let directory: string;
beforeEach(async () => {
  directory = path.join(await mkdtemp(path.join(tmpdir(), "authchart-store-procs-")), "authchart");
});
afterEach(async () => {
  await stopChildren();
  await rm(path.dirname(directory), { recursive: true, force: true });
});

const tokens = (resource: string): TokenSet => ({
  key: { resource, issuer: "https://as.example/parent", clientId: "parent" },
  accessToken: Redacted.make("ACCESS-PARENT"),
  tokenType: "Bearer",
  expiresAt: Date.now() + 3_600_000,
  scopes: ["mcp"],
  obtainedAt: Date.now(),
  version: 1,
});

describe("the file store across processes", () => {
  it("writers in 5 processes save 10 entries each at once: every entry is there afterwards, files 0600", async () => {
    const writers = ["w0", "w1", "w2", "w3", "w4"];
    const count = 8;
    const children = writers.map((writer) =>
      startChild("store-writer.ts", { STORE_DIR: directory, WRITER: writer, COUNT: String(count) }),
    );
    await Promise.all(children.map((child) => child.line((l) => l === "ready")));
    for (const child of children) child.send("go");
    const results = await Promise.all(
      children.map((child) => child.line((l) => l.startsWith("{"))),
    );
    expect(results.map((r) => JSON.parse(r))).toEqual(writers.map(() => ({ done: count })));

    const store = await fileStore({ directory });
    const missing: string[] = [];
    for (const writer of writers) {
      const issuer = `https://as.example/${writer}`;
      for (let i = 0; i < count; i++) {
        const key = {
          resource: `https://mcp.example/${writer}/${i}`,
          issuer,
          clientId: `client-${writer}`,
        };
        const loaded = await Effect.runPromise(store.loadTokens(key));
        if (Option.isNone(loaded) || loaded.value.version !== i + 1)
          missing.push(`${writer} tokens ${i}`);
      }
      const client = await Effect.runPromise(store.loadClient(issuer));
      if (Option.isNone(client) || client.value.clientSecret === undefined)
        missing.push(`${writer} client`);
      else expect(Redacted.value(client.value.clientSecret)).toBe(`SECRET-${writer}`);
      if (
        Option.isNone(await Effect.runPromise(store.loadSession(`https://mcp.example/${writer}`)))
      )
        missing.push(`${writer} session`);
    }
    expect(missing).toEqual([]);
    expect(await Effect.runPromise(store.listSessions())).toHaveLength(writers.length);

    // Nothing left behind: no lock file, no temporary file; the files private.
    expect((await readdir(directory)).sort()).toEqual([METADATA_FILE, SECRETS_FILE].sort());
    if (posix) {
      expect((await stat(directory)).mode & 0o777).toBe(0o700);
      for (const file of [METADATA_FILE, SECRETS_FILE])
        expect((await stat(path.join(directory, file))).mode & 0o777).toBe(0o600);
    }
  }, 120_000);

  it("a live writer in another process holds the lock: a save waits (bounded), then goes through once it lets go", async () => {
    const store = await fileStore({ directory, writeLock: { waitMillis: 300 } });
    const holder = startChild("lock-holder.ts", {
      LOCK_DIR: directory,
      LOCK_NAME: STORE_LOCK_NAME,
    });
    await holder.line((l) => l === "held");
    const error = await Effect.runPromise(
      Effect.flip(store.saveTokens(tokens("https://a.example/mcp"))),
    );
    expect(error).toBeInstanceOf(StoreFailed);
    expect(error).toMatchObject({ operation: "saveTokens" });
    expect(error.reason).toMatch(/another process kept the store's write lock for 300 ms/);
    // The lock file is 0600 like every other file of the store.
    if (posix)
      expect((await stat(path.join(directory, lockFileName(STORE_LOCK_NAME)))).mode & 0o777).toBe(
        0o600,
      );
    holder.send("release");
    await holder.line((l) => l === "released");
    await Effect.runPromise(store.saveTokens(tokens("https://a.example/mcp")));
    expect(
      Option.isSome(await Effect.runPromise(store.loadTokens(tokens("https://a.example/mcp").key))),
    ).toBe(true);
  }, 60_000);

  it("a writer killed while holding the lock: the next save recovers it at once (its pid is gone)", async () => {
    const store = await fileStore({ directory });
    await Effect.runPromise(store.saveTokens(tokens("https://before.example/mcp")));
    const holder = startChild("lock-holder.ts", {
      LOCK_DIR: directory,
      LOCK_NAME: STORE_LOCK_NAME,
    });
    await holder.line((l) => l === "held");
    holder.process.kill("SIGKILL");
    await holder.exited;
    // The crashed writer's lock file is still there ...
    expect(await readdir(directory)).toContain(lockFileName(STORE_LOCK_NAME));
    // ... and does not stand in the way (the default stale age, 10 s, is not what frees it: the
    // wait here is shorter than that).
    const recovering = await fileStore({ directory, writeLock: { waitMillis: 5_000 } });
    await Effect.runPromise(recovering.saveTokens(tokens("https://after.example/mcp")));
    for (const resource of ["https://before.example/mcp", "https://after.example/mcp"])
      expect(Option.isSome(await Effect.runPromise(store.loadTokens(tokens(resource).key)))).toBe(
        true,
      );
    expect(await readdir(directory)).not.toContain(lockFileName(STORE_LOCK_NAME));
  }, 60_000);
});
