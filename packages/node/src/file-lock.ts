/**
 * A SessionLock for the processes of one machine that share a file credential store: one lock
 * file per lock name, created exclusively (`open(path, "wx")`, O_CREAT|O_EXCL) in a directory the
 * caller gives (made 0700), holding who holds it — pid, hostname, start time and a random id
 * (one process may hold several locks, or wait for one it holds elsewhere: the id, not the pid,
 * says whose it is).
 *
 * - Heartbeat: while it holds the lock, the holder sets the lock file's modification time every
 *   `heartbeatMillis` (through the handle it created the file with, so a beat never touches a
 *   file that replaced it). A lock is stale when its heartbeat is older than `staleMillis`, or at
 *   once when its holder's pid is gone from this host (a crash, a kill). So a live holder doing a
 *   slow refresh keeps its lock however long it takes, and a crashed one is recovered in bounded
 *   time. The timer is unref'd (it never keeps a process alive) and stopped on release.
 * - The takeover of a stale lock runs under a second exclusive file, so two waiters never both
 *   remove it (the second would remove the first's fresh one).
 * - The wait is bounded (LockTimeout) and polls with jitter, backing off.
 * - The release removes the lock file only if it is still this holder's.
 *
 * A lease without fencing (as any lock of this kind): a holder stopped for longer than
 * `staleMillis` (SIGSTOP, a suspended machine) may find on waking that another took over.
 *
 * File names are the lock names core derives (a hash of the store key) or, for any other name, a
 * hash of it: never a secret nor a URL in a file name.
 */
import { createHash, randomUUID } from "node:crypto";
import { type FileHandle, mkdir, open, readFile, rm, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import {
  defaultLockWaitMillis,
  LockFailed,
  LockTimeout,
  SessionLock,
  type SessionLockService,
} from "@authchart/core";
import { Clock, Duration, Effect, Layer } from "effect";

export interface FileLockOptions {
  /** Where the lock files live; created 0700 if missing. */
  readonly directory: string;
  /**
   * A lock whose heartbeat is older than this is stale, whoever holds it (a holder on another
   * host that crashed, a stopped process). A crashed holder on this host is recovered at once.
   * Default: 20 s.
   */
  readonly staleMillis?: number | undefined;
  /** How often a holder beats. Keep it well under `staleMillis`. Default: a quarter of it. */
  readonly heartbeatMillis?: number | undefined;
  /** The first poll interval while waiting; it doubles up to `maxPollMillis`, jittered. Default 10 ms. */
  readonly pollMillis?: number | undefined;
  /** Default 200 ms. */
  readonly maxPollMillis?: number | undefined;
}

/** What a lock file holds. */
interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: number;
  readonly id: string;
}

/** A lock this process holds: its file stays open for the heartbeat until the release. */
interface Held {
  readonly owner: LockOwner;
  readonly handle: FileHandle;
  readonly timer: ReturnType<typeof setInterval>;
  beat: Promise<void> | undefined;
}

export const defaultStaleMillis = 20_000;
/** A lock file being written (created, content not yet in) is left alone this long. */
const incompleteGraceMillis = 2_000;
/** A takeover file older than this was left by a holder that crashed mid-takeover. */
const takeoverStaleMillis = 10_000;

const errorCode = (error: unknown) =>
  typeof error === "object" && error !== null && "code" in error
    ? String((error as { code: unknown }).code)
    : "unknown";

/** Lock names as file names: core's are safe as they are; any other is hashed. */
export const lockFileName = (name: string) =>
  /^[A-Za-z0-9_-]{1,100}$/.test(name)
    ? `${name}.lock`
    : `${createHash("sha256").update(name).digest("hex").slice(0, 40)}.lock`;

const parseOwner = (text: string): LockOwner | undefined => {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    return typeof value.pid === "number" &&
      typeof value.hostname === "string" &&
      typeof value.startedAt === "number" &&
      typeof value.id === "string"
      ? (value as LockOwner)
      : undefined;
  } catch {
    return undefined;
  }
};

/** Whether a process with this pid runs on this host (EPERM: it does, as another user). */
const pidAlive = (pid: number) => {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === "EPERM";
  }
};

const readIfPresent = async (path: string) => {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
};

export const makeFileLock = (options: FileLockOptions): SessionLockService => {
  const staleMillis = options.staleMillis ?? defaultStaleMillis;
  const heartbeatMillis = Math.max(1, options.heartbeatMillis ?? Math.floor(staleMillis / 4));
  const pollMillis = options.pollMillis ?? 10;
  const maxPollMillis = options.maxPollMillis ?? 200;
  const host = hostname();
  let ready: Promise<unknown> | undefined;
  const ensureDirectory = () => {
    ready ??= mkdir(options.directory, { recursive: true, mode: 0o700 }).catch((error) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };

  /** Whether the lock file's content (as read) belongs to a holder that is gone. */
  const isStale = async (path: string, text: string, now: number) => {
    const info = await stat(path).catch(() => undefined);
    // Gone meanwhile: nothing to take over; the next attempt creates it.
    if (info === undefined) return false;
    const owner = parseOwner(text);
    // Being written, or garbage: stale once it is old enough.
    if (owner === undefined) return now - info.mtimeMs > incompleteGraceMillis;
    if (owner.hostname === host && !pidAlive(owner.pid)) return true;
    // The last heartbeat (the modification time the holder keeps setting).
    return now - info.mtimeMs > staleMillis;
  };

  /**
   * Removes the lock file if it still holds `staleText`, under the takeover file: two waiters
   * that both saw the same stale lock cannot both remove it.
   */
  const takeOver = async (path: string, staleText: string, now: number) => {
    const takeoverPath = `${path}.takeover`;
    let handle: FileHandle;
    try {
      handle = await open(takeoverPath, "wx", 0o600);
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
      const info = await stat(takeoverPath).catch(() => undefined);
      if (info !== undefined && now - info.mtimeMs > takeoverStaleMillis)
        await rm(takeoverPath, { force: true });
      return;
    }
    try {
      await handle.close();
      if ((await readIfPresent(path)) === staleText) await unlink(path).catch(() => undefined);
    } finally {
      await rm(takeoverPath, { force: true });
    }
  };

  /** Sets the file's modification time through our own handle: the heartbeat. */
  const startHeartbeat = (owner: LockOwner, handle: FileHandle): Held => {
    const held: Held = {
      owner,
      handle,
      timer: setInterval(() => {
        if (held.beat !== undefined) return;
        const now = new Date();
        held.beat = handle
          .utimes(now, now)
          .catch(() => undefined)
          .finally(() => {
            held.beat = undefined;
          });
      }, heartbeatMillis),
      beat: undefined,
    };
    held.timer.unref();
    return held;
  };

  /** One attempt: the lock, held and beating, or undefined if another holds it. */
  const attempt = async (path: string, now: number): Promise<Held | undefined> => {
    await ensureDirectory();
    const owner: LockOwner = { pid: process.pid, hostname: host, startedAt: now, id: randomUUID() };
    let handle: FileHandle;
    try {
      handle = await open(path, "wx", 0o600);
    } catch (error) {
      if (errorCode(error) !== "EEXIST") throw error;
      const text = await readIfPresent(path);
      if (text !== undefined && (await isStale(path, text, now))) await takeOver(path, text, now);
      return undefined;
    }
    try {
      await handle.writeFile(JSON.stringify(owner));
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw error;
    }
    return startHeartbeat(owner, handle);
  };

  /**
   * Stops the heartbeat, closes the file and removes it if it is still ours (a holder stopped
   * past `staleMillis` may have lost it).
   */
  const release = async (path: string, held: Held) => {
    clearInterval(held.timer);
    await held.beat;
    await held.handle.close().catch(() => undefined);
    const text = await readIfPresent(path);
    if (text !== undefined && parseOwner(text)?.id === held.owner.id)
      await unlink(path).catch(() => undefined);
  };

  return {
    withLock: (name, effect, lockOptions) => {
      const waitMillis = lockOptions?.waitMillis ?? defaultLockWaitMillis;
      const path = join(options.directory, lockFileName(name));
      const failed = (operation: string) => (error: unknown) =>
        new LockFailed({ name, operation, reason: errorCode(error) });
      // Uninterruptible but for the sleeps between attempts: an attempt runs to its end, and a
      // lock it obtained goes straight to the release below (an interruption in between would
      // leave a lock file nobody releases).
      const acquire = (restore: <A, E, R>(e: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
        Effect.gen(function* () {
          const deadline = (yield* Clock.currentTimeMillis) + waitMillis;
          for (let round = 0; ; round++) {
            const now = yield* Clock.currentTimeMillis;
            const held = yield* Effect.tryPromise({
              try: () => attempt(path, now),
              catch: failed("acquire"),
            });
            if (held !== undefined) return held;
            const left = deadline - (yield* Clock.currentTimeMillis);
            if (left <= 0) return yield* new LockTimeout({ name, waitMillis });
            const backoff = Math.min(pollMillis * 2 ** Math.min(round, 16), maxPollMillis);
            const jittered = backoff * (0.5 + Math.random());
            yield* restore(Effect.sleep(Duration.millis(Math.max(1, Math.min(jittered, left)))));
          }
        });
      return Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(acquire(restore), (held) =>
          restore(effect).pipe(
            Effect.ensuring(Effect.promise(() => release(path, held).catch(() => undefined))),
          ),
        ),
      );
    },
  };
};

/** SessionLock over lock files in `options.directory`. */
export const layerFileLock = (options: FileLockOptions) =>
  Layer.succeed(SessionLock, makeFileLock(options));
