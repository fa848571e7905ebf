/**
 * SessionLock: mutual exclusion around the steps that must happen once for every process sharing
 * one credential store — a refresh (a rotating refresh token used twice revokes the grant,
 * RFC 9700 §4.14.2; OAuth 2.1 §4.3.1) and a dynamic registration (one client per issuer,
 * RFC 6749 §2.2). The holder re-reads the store under the lock and writes its result before the
 * lock is released, so the next holder finds it.
 *
 * The default is in-process (enough for sessions over one memory store: their processes are
 * one); @authchart/node has a file lock for processes sharing a file store, and a shared store
 * (Redis, a database) brings its own. Lock names are derived from the store keys and hashed:
 * never a secret, nor a URL, in a lock name (nor in a file name made of it).
 *
 * @see https://datatracker.ietf.org/doc/html/rfc9700#section-4.14.2
 */
import { Context, Duration, Effect, Layer, Option, Schema } from "effect";
import { sha256Hex } from "../protocol/digest.js";
import type { TokenKey } from "../schema/credentials.js";

/** The lock was not obtained within the bounded wait: another holder kept it. */
export class LockTimeout extends Schema.TaggedError<LockTimeout>()("LockTimeout", {
  /** The lock's name: a hash, never a secret. */
  name: Schema.String,
  waitMillis: Schema.Number,
}) {
  override get message() {
    return `lock ${this.name} was not obtained within ${this.waitMillis} ms`;
  }
}

/** The lock itself failed (its directory cannot be written, ...): not a wait that ran out. */
export class LockFailed extends Schema.TaggedError<LockFailed>()("LockFailed", {
  name: Schema.String,
  operation: Schema.String,
  reason: Schema.String,
}) {
  override get message() {
    return `lock ${this.name} failed to ${this.operation}: ${this.reason}`;
  }
}

export interface LockOptions {
  /** How long to wait for the lock before failing with LockTimeout. Default: 30 s. */
  readonly waitMillis?: number | undefined;
}

export interface SessionLockService {
  /**
   * Runs `effect` while holding the lock `name`, waiting at most `waitMillis` for it. The lock is
   * released when the effect ends, whatever its outcome (an interruption included).
   */
  readonly withLock: <A, E, R>(
    name: string,
    effect: Effect.Effect<A, E, R>,
    options?: LockOptions,
  ) => Effect.Effect<A, E | LockTimeout | LockFailed, R>;
}

export const defaultLockWaitMillis = 30_000;

/**
 * A lock per name within this process: one semaphore each, forgotten when nobody holds or awaits
 * it. The wait is interruptible; the release always happens.
 */
export const makeInProcessLock = (): SessionLockService => {
  const entries = new Map<string, { readonly semaphore: Effect.Semaphore; users: number }>();
  const enter = (name: string) =>
    Effect.sync(() => {
      let entry = entries.get(name);
      if (entry === undefined) {
        entry = { semaphore: Effect.unsafeMakeSemaphore(1), users: 0 };
        entries.set(name, entry);
      }
      entry.users += 1;
      return entry;
    });
  const leave = (name: string, entry: { users: number }) =>
    Effect.sync(() => {
      entry.users -= 1;
      if (entry.users === 0 && entries.get(name) === entry) entries.delete(name);
    });
  return {
    withLock: (name, effect, options) => {
      const waitMillis = options?.waitMillis ?? defaultLockWaitMillis;
      return Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(enter(name), (entry) =>
          // A free lock is taken at once; only a wait needs the timeout (and its racing fiber).
          entry.semaphore
            .withPermitsIfAvailable(1)(restore(effect))
            .pipe(
              Effect.flatMap(
                Option.match({
                  onSome: Effect.succeed,
                  onNone: () =>
                    restore(
                      entry.semaphore.take(1).pipe(
                        Effect.timeoutFail({
                          duration: Duration.millis(waitMillis),
                          onTimeout: () => new LockTimeout({ name, waitMillis }),
                        }),
                      ),
                    ).pipe(
                      Effect.flatMap(() =>
                        restore(effect).pipe(Effect.ensuring(entry.semaphore.release(1))),
                      ),
                    ),
                }),
              ),
              Effect.ensuring(leave(name, entry)),
            ),
        ),
      );
    },
  };
};

const processLock = makeInProcessLock();

export class SessionLock extends Context.Tag("@authchart/core/SessionLock")<
  SessionLock,
  SessionLockService
>() {
  /** In this process, shared by every session of it (the default). */
  static readonly layerInProcess = Layer.succeed(SessionLock, processLock);
  static readonly inProcess: SessionLockService = processLock;
}

/** SHA-256 of a text, lowercase hex: at once in Node, through WebCrypto elsewhere. */
const sha256HexOf = (text: string) => {
  const hex = sha256Hex(text);
  return typeof hex === "string" ? Effect.succeed(hex) : Effect.promise(() => hex);
};

/** The lock of the token set with this key (resource, issuer, client): `tokens-<sha256>`. */
export const tokenLockName = (key: TokenKey) =>
  Effect.map(
    sha256HexOf(JSON.stringify(["tokens", key.resource, key.issuer, key.clientId])),
    (hash) => `tokens-${hash.slice(0, 40)}`,
  );

/** The lock of the client registration at this issuer: `client-<sha256>`. */
export const clientLockName = (issuer: string) =>
  Effect.map(
    sha256HexOf(JSON.stringify(["client", issuer])),
    (hash) => `client-${hash.slice(0, 40)}`,
  );

/** Runs `effect` under the lock of the context (SessionLock when provided, else in-process). */
export const withSessionLock = <A, E, R>(
  name: string,
  effect: Effect.Effect<A, E, R>,
  options?: LockOptions,
): Effect.Effect<A, E | LockTimeout | LockFailed, R> =>
  Effect.flatMap(Effect.serviceOption(SessionLock), (lock) =>
    (lock._tag === "Some" ? lock.value : processLock).withLock(name, effect, options),
  );
