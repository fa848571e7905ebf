/**
 * A persistent CredentialStore for Node: two JSON files in a private per-user directory.
 *
 * - `metadata.json`: client registrations without their secret, and the sessions' persisted
 *   state (which holds no secret: see core's PersistedSession).
 * - `secrets.json` (or the OS keychain, `secrets: "keychain" | "auto"`): token sets, client
 *   secrets and DPoP private keys.
 *
 * Files are 0600 in a 0700 directory (see config-dir.ts for an existing directory others can
 * access: fixed by default, refused with `insecure: "refuse"`; a file likewise). Every write
 * replaces a whole file atomically: a temporary file in the same directory (0600, written,
 * fsynced), renamed over the old one, the directory fsynced; a crash leaves the old file or the
 * new one, never half of one. Temporary files a crash left behind are removed when a store opens.
 *
 * Every value is decoded on the way out with core's Schemas (ClientRegistration, TokenSet,
 * DpopKey) and must match the key it is stored under; an entry that does not is a StoreFailed
 * for that entry alone. A file that is not a store file at all (truncated, edited) is a
 * StoreFailed for every entry of that file, reads and writes alike (a write would drop its
 * other entries), while the other file is served as usual; moving the bad file aside recovers.
 *
 * Every read-modify-write (a save, a delete) holds the directory's write lock: in this process a
 * semaphore (every store instance over the directory shares it), then across processes a lock
 * file, `store.lock` in the directory (file-lock.ts: exclusive create, heartbeat, a crashed
 * holder recovered, a bounded wait). Without it two processes that both read the file before
 * either renamed its new version would each write back their own entry only, and the last
 * rename would drop the other's. It is held for one update (milliseconds), and it is not the
 * session's lock: a session may hold its refresh lock while it saves, never the reverse, so the
 * two cannot deadlock. Reads take no lock: a rename replaces a whole file at once.
 */
import { randomBytes } from "node:crypto";
import { type FileHandle, open, readdir, rename, rm, stat } from "node:fs/promises";
import * as path from "node:path";
import {
  ClientRegistration,
  CredentialStore,
  type CredentialStoreService,
  clientStoreKey,
  DpopKey,
  dpopKeyStoreKey,
  type LockFailed,
  type LockTimeout,
  StoreFailed,
  sessionStoreKey,
  type TokenKey,
  TokenSet,
  tokenStoreKey,
} from "@authchart/core";
import { Cause, Context, Effect, Exit, Layer, Option, Schema } from "effect";
import {
  type ConfigDirOptions,
  defaultStoreDirectory,
  ensurePrivateDirectory,
  type InsecurePermissions,
  StoreRefusal,
} from "./config-dir.js";
import { makeFileLock } from "./file-lock.js";
import {
  KeychainSecrets,
  type KeychainUnavailable,
  type Keyring,
  type SecretsBackend,
} from "./keychain.js";

export interface FileCredentialStoreOptions {
  /** The store's directory. Default: `authchart` in the user's configuration directory. */
  readonly directory?: string | undefined;
  /** How the default directory is found (platform, environment, home): for tests. */
  readonly configDir?: ConfigDirOptions | undefined;
  /**
   * Where secrets go: "file" (default: `secrets.json` beside the metadata), "keychain" (the OS
   * keychain; KeychainUnavailable at make when it is not usable), "auto" (the keychain when
   * usable, else the file). The default is "file" so that opening a store never raises a
   * keychain prompt nobody asked for.
   */
  readonly secrets?: "file" | "keychain" | "auto" | undefined;
  /** An existing directory or file others can access: "fix" (default, chmod) or "refuse". */
  readonly insecure?: InsecurePermissions | undefined;
  /** The keychain's service name. Default "authchart". */
  readonly keychainService?: string | undefined;
  /** The keychain (default: the OS keychain through @napi-rs/keyring). */
  readonly keyring?: Keyring | undefined;
  /** The cross-process write lock (`store.lock`): how long a write waits, when a holder is stale. */
  readonly writeLock?: StoreWriteLockOptions | undefined;
}

export interface StoreWriteLockOptions {
  /** How long a save or delete waits for another process's write. Default: 10 s. */
  readonly waitMillis?: number | undefined;
  /**
   * A holder that has not beaten for this long is stale (a crashed holder on this host is
   * recovered at once). Default: 10 s.
   */
  readonly staleMillis?: number | undefined;
}

/** What a store is and where it keeps things (for `authchart status`). */
export interface FileStoreDescription {
  readonly directory: string;
  readonly metadataFile: string;
  /** Where secrets are kept. */
  readonly kind: "file" | "keychain";
  readonly secretsFile?: string | undefined;
  readonly keychainService?: string | undefined;
  readonly requested: "file" | "keychain" | "auto";
  /** With "auto" and the file: why the keychain was not used. */
  readonly keychainUnusable?: string | undefined;
  /**
   * Why the store could not be opened (NodeAuth.layer: every operation fails with it); the other
   * fields then say what was asked for.
   */
  readonly unavailable?: string | undefined;
}

export interface FileCredentialStoreService extends CredentialStoreService {
  readonly describe: () => FileStoreDescription;
  /** The server URLs that have a saved session (for `authchart status`), sorted. */
  readonly listSessions: () => Effect.Effect<readonly string[], StoreFailed>;
}

const SESSION_KEY_PREFIX = sessionStoreKey("").slice(0, sessionStoreKey("").indexOf("["));

/** The server URL a session entry's key names, or undefined for any other key. */
const sessionUrlOf = (key: string): string | undefined => {
  if (!key.startsWith(SESSION_KEY_PREFIX)) return undefined;
  try {
    const parts: unknown = JSON.parse(key.slice(SESSION_KEY_PREFIX.length));
    return Array.isArray(parts) && parts.length === 1 && typeof parts[0] === "string"
      ? parts[0]
      : undefined;
  } catch {
    return undefined;
  }
};

export const METADATA_FILE = "metadata.json";
export const SECRETS_FILE = "secrets.json";
/** The name of the cross-process write lock; its file is `store.lock` in the store directory. */
export const STORE_LOCK_NAME = "store";
/** Temporary files are `.<file>.<pid>.<random>.tmp`; a crash leaves them behind. */
const TEMP_FILE = /^\.(metadata|secrets)\.json\.\d+\.[0-9a-f]+\.tmp$/;
const STALE_TEMP_MILLIS = 60_000;

/** A store file: a format number and its entries, each the Schema-encoded form of one value. */
const StoreDocument = Schema.Struct({
  format: Schema.Literal(1),
  entries: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
});
const StoreDocumentJson = Schema.parseJson(StoreDocument);
type Entries = Readonly<Record<string, unknown>>;

const clientSecretStoreKey = (issuer: string) =>
  `authchart/client-secret/${JSON.stringify([issuer])}`;

const isPosix = () => process.platform !== "win32";
const codeOf = (error: unknown) =>
  error instanceof Error && "code" in error ? String(error.code) : undefined;

/** One lock per directory in this process, whichever store instance writes. */
const locks = new Map<string, Effect.Semaphore>();
const lockFor = (directory: string) => {
  let lock = locks.get(directory);
  if (!lock) {
    lock = Effect.unsafeMakeSemaphore(1);
    locks.set(directory, lock);
  }
  return lock;
};

/**
 * Opens, checks and reads a private file of the store's directory (`metadata.json`,
 * `secrets.json`, or a file of one's own beside them, such as the CLI's `servers.json`):
 * undefined when it does not exist. On POSIX it must belong to this user; a file group or others
 * can access is made 0600 (`insecure: "fix"`, the default) or refused (`"refuse"`), as the
 * directory is (config-dir.ts). Checked on the open handle, so a file swapped in between is not
 * what gets read.
 */
export const readPrivateFile = (
  file: string,
  options: { readonly insecure?: InsecurePermissions | undefined; readonly operation: string },
): Effect.Effect<string | undefined, StoreFailed> =>
  Effect.tryPromise({
    try: async (): Promise<string | undefined> => {
      let handle: FileHandle;
      try {
        handle = await open(file, "r");
      } catch (error) {
        if (codeOf(error) === "ENOENT") return undefined;
        throw error;
      }
      try {
        const info = await handle.stat();
        if (isPosix()) {
          if (info.uid !== process.getuid?.())
            throw new StoreRefusal(`${file} belongs to another user (uid ${info.uid})`);
          if ((info.mode & 0o077) !== 0) {
            if ((options.insecure ?? "fix") === "refuse")
              throw new StoreRefusal(
                `${file} is accessible to group or others (mode ${(info.mode & 0o777).toString(8)})`,
              );
            await handle.chmod(0o600);
          }
        }
        return await handle.readFile("utf8");
      } finally {
        await handle.close();
      }
    },
    catch: (error) =>
      new StoreFailed({
        operation: options.operation,
        reason:
          error instanceof StoreRefusal
            ? error.message
            : `cannot read ${file}: ${codeOf(error) ?? String(error)}`,
      }),
  });

/** Opens, checks (owner, mode) and reads a store file; absent = no entries. */
const readEntries = (
  file: string,
  insecure: InsecurePermissions,
  operation: string,
): Effect.Effect<Entries, StoreFailed> =>
  readPrivateFile(file, { insecure, operation }).pipe(
    Effect.flatMap((text) =>
      text === undefined
        ? Effect.succeed({})
        : Schema.decode(StoreDocumentJson)(text).pipe(
            Effect.map((document) => document.entries),
            // No parse details: they could quote a secret.
            Effect.mapError(
              () =>
                new StoreFailed({
                  operation,
                  reason: `${file} is not a valid store file (move it aside to start over)`,
                }),
            ),
          ),
    ),
  );

/** Write `text` to `file` atomically: temp file 0600 in the same directory, fsync, rename. */
export const writeFileAtomic = async (file: string, text: string): Promise<void> => {
  const directory = path.dirname(file);
  const temp = path.join(
    directory,
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  );
  const handle = await open(temp, "wx", 0o600);
  try {
    try {
      if (isPosix()) await handle.chmod(0o600);
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  if (isPosix()) {
    // The rename itself is durable once the directory is synced; best effort.
    const dir = await open(directory, "r").catch(() => undefined);
    await dir
      ?.sync()
      .catch(() => undefined)
      .finally(() => dir.close());
  }
};

const writeEntries = (file: string, entries: Entries, operation: string) =>
  Effect.tryPromise({
    try: () => writeFileAtomic(file, `${JSON.stringify({ format: 1, entries }, null, 2)}\n`),
    catch: (error) =>
      new StoreFailed({
        operation,
        reason: `cannot write ${file}: ${codeOf(error) ?? String(error)}`,
      }),
  }).pipe(Effect.uninterruptible);

/** Read-modify-write of one file (the caller holds the directory's lock). */
const updateEntries = (
  file: string,
  insecure: InsecurePermissions,
  operation: string,
  update: (entries: Entries) => Entries,
) =>
  Effect.flatMap(readEntries(file, insecure, operation), (entries) => {
    const next = update(entries);
    return next === entries ? Effect.void : writeEntries(file, next, operation);
  });

const withEntry = (key: string, value: unknown) => (entries: Entries) => ({
  ...entries,
  [key]: value,
});
const withoutEntry = (key: string) => (entries: Entries) => {
  if (!(key in entries)) return entries;
  const { [key]: _removed, ...rest } = entries;
  return rest;
};

const fileSecrets = (
  file: string,
  insecure: InsecurePermissions,
): SecretsBackend & { readonly file: string } => ({
  kind: "file",
  file,
  get: (key, operation) =>
    Effect.map(readEntries(file, insecure, operation), (entries) =>
      Option.fromNullable(entries[key]),
    ),
  set: (key, value, operation) => updateEntries(file, insecure, operation, withEntry(key, value)),
  remove: (key, operation) => updateEntries(file, insecure, operation, withoutEntry(key)),
});

/** Removes the temporary files of writes that never finished (older than a minute). */
const removeStaleTempFiles = (directory: string) =>
  Effect.promise(async () => {
    const names = await readdir(directory).catch(() => [] as string[]);
    await Promise.all(
      names
        .filter((name) => TEMP_FILE.test(name))
        .map(async (name) => {
          const file = path.join(directory, name);
          const info = await stat(file).catch(() => undefined);
          if (info && Date.now() - info.mtimeMs > STALE_TEMP_MILLIS)
            await rm(file, { force: true }).catch(() => undefined);
        }),
    );
  });

/** The write lock, not obtained: a StoreFailed of the operation that needed it. */
const lockFailure = (operation: string) => (error: LockTimeout | LockFailed) =>
  new StoreFailed({
    operation,
    reason:
      error._tag === "LockTimeout"
        ? `another process kept the store's write lock for ${error.waitMillis} ms; try again`
        : `the store's write lock failed to ${error.operation}: ${error.reason}`,
  });

/**
 * The store's write lock for `directory`, held while `effect` runs: first this process's
 * semaphore for the directory, then `store.lock` across processes (what every save and delete of
 * the file store holds). For a read-modify-write of a file of one's own in the store's directory
 * (the CLI's `servers.json`), so that two processes updating it at once keep both updates. Hold
 * it for one update only (milliseconds), and never take a session's lock inside it (a session
 * may save while it holds its own lock: the reverse order could deadlock). `directory` is made
 * private first (ensurePrivateDirectory); a lock not obtained in `waitMillis` is a StoreFailed of
 * `operation`.
 */
export const withStoreWriteLock = <A, E, R>(
  directory: string,
  effect: Effect.Effect<A, E, R>,
  options: StoreWriteLockOptions & {
    readonly operation: string;
    readonly insecure?: InsecurePermissions | undefined;
  },
): Effect.Effect<A, E | StoreFailed, R> =>
  Effect.flatMap(ensurePrivateDirectory(directory, options.insecure), (real) =>
    writeLockOf(real, options)(options.operation)(effect),
  );

/** The in-process semaphore, then the lock file, for one directory (already made private). */
const writeLockOf = (directory: string, options: StoreWriteLockOptions | undefined) => {
  const inProcess = lockFor(directory).withPermits(1);
  const acrossProcesses = makeFileLock({
    directory,
    staleMillis: options?.staleMillis ?? 10_000,
  });
  const waitMillis = options?.waitMillis ?? 10_000;
  return (operation: string) =>
    <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | StoreFailed, R> =>
      inProcess(
        // The effect's own failures pass through the lock as values, so that only the lock's
        // LockTimeout and LockFailed become the StoreFailed of `operation`.
        acrossProcesses.withLock(STORE_LOCK_NAME, Effect.either(effect), { waitMillis }).pipe(
          Effect.catchTags({
            LockTimeout: lockFailure(operation),
            LockFailed: lockFailure(operation),
          }),
          Effect.flatten,
        ),
      );
};

const undecodable = (operation: string, what: string) =>
  new StoreFailed({ operation, reason: `stored ${what} does not decode` });
const mismatched = (operation: string, what: string) =>
  new StoreFailed({ operation, reason: `stored ${what} does not belong to its key` });

const sameTokenKey = (a: TokenKey, b: TokenKey) =>
  a.resource === b.resource && a.issuer === b.issuer && a.clientId === b.clientId;

/** Opens (creating if need be) the store in its directory and picks the secrets backend. */
export const makeFileCredentialStore = (
  options: FileCredentialStoreOptions = {},
): Effect.Effect<FileCredentialStoreService, StoreFailed | KeychainUnavailable> =>
  Effect.gen(function* () {
    const insecure = options.insecure ?? "fix";
    const requested = options.secrets ?? "file";
    const directory = yield* ensurePrivateDirectory(
      options.directory ?? defaultStoreDirectory(options.configDir),
      insecure,
    );
    yield* removeStaleTempFiles(directory);
    const metadataFile = path.join(directory, METADATA_FILE);
    const secretsFile = path.join(directory, SECRETS_FILE);
    /** One read-modify-write (or a few, for one entry) at a time, in every process. */
    const serialized = writeLockOf(directory, options.writeLock);

    let secrets: SecretsBackend;
    let keychainService: string | undefined;
    let keychainUnusable: string | undefined;
    if (requested === "file") secrets = fileSecrets(secretsFile, insecure);
    else {
      const keychain = yield* Effect.either(
        KeychainSecrets.make({
          directory,
          service: options.keychainService,
          keyring: options.keyring,
        }),
      );
      if (keychain._tag === "Right") {
        secrets = keychain.right;
        keychainService = keychain.right.service;
      } else if (requested === "keychain") return yield* keychain.left;
      else {
        secrets = fileSecrets(secretsFile, insecure);
        keychainUnusable = keychain.left.reason;
      }
    }

    const metadata = {
      get: (key: string, operation: string) =>
        Effect.map(readEntries(metadataFile, insecure, operation), (entries) =>
          Option.fromNullable(entries[key]),
        ),
      set: (key: string, value: unknown, operation: string) =>
        updateEntries(metadataFile, insecure, operation, withEntry(key, value)),
      remove: (key: string, operation: string) =>
        updateEntries(metadataFile, insecure, operation, withoutEntry(key)),
    };

    /** A secret-file entry decoded with its Schema and checked against the key it is under. */
    const loadSecret = <A, I>(
      schema: Schema.Schema<A, I>,
      storeKey: string,
      belongs: (value: A) => boolean,
      operation: string,
      what: string,
    ) =>
      Effect.flatMap(secrets.get(storeKey, operation), (raw) =>
        Option.match(raw, {
          onNone: () => Effect.succeed(Option.none<A>()),
          onSome: (value) =>
            Schema.decodeUnknown(schema)(value).pipe(
              Effect.mapError(() => undecodable(operation, what)),
              Effect.filterOrFail(belongs, () => mismatched(operation, what)),
              Effect.map(Option.some),
            ),
        }),
      );
    const encode = <A, I>(schema: Schema.Schema<A, I>, value: A, operation: string) =>
      Schema.encode(schema)(value).pipe(
        Effect.mapError(() => new StoreFailed({ operation, reason: "entry does not encode" })),
      );

    const service: FileCredentialStoreService = {
      describe: () => ({
        directory,
        metadataFile,
        kind: secrets.kind,
        requested,
        ...(secrets.kind === "file" ? { secretsFile } : { keychainService }),
        ...(keychainUnusable === undefined ? {} : { keychainUnusable }),
      }),

      listSessions: () =>
        Effect.map(readEntries(metadataFile, insecure, "listSessions"), (entries) =>
          Object.keys(entries)
            .flatMap((key) => sessionUrlOf(key) ?? [])
            .sort(),
        ),

      loadClient: (issuer) =>
        Effect.gen(function* () {
          const operation = "loadClient";
          const stored = yield* metadata.get(clientStoreKey(issuer), operation);
          if (Option.isNone(stored)) return Option.none();
          if (typeof stored.value !== "object" || stored.value === null)
            return yield* undecodable(operation, "client");
          const secret = yield* secrets.get(clientSecretStoreKey(issuer), operation);
          const encoded = Option.isSome(secret)
            ? { ...stored.value, clientSecret: secret.value }
            : stored.value;
          const client = yield* Schema.decodeUnknown(ClientRegistration)(encoded).pipe(
            Effect.mapError(() => undecodable(operation, "client")),
          );
          if (client.issuer !== issuer) return yield* mismatched(operation, "client");
          return Option.some(client);
        }),
      saveClient: (client) =>
        Effect.gen(function* () {
          const operation = "saveClient";
          const { clientSecret, ...rest } = yield* encode(ClientRegistration, client, operation);
          const secretKey = clientSecretStoreKey(client.issuer);
          // The secret first: a crash in between leaves an unused secret, not a client without one.
          if (clientSecret === undefined) yield* secrets.remove(secretKey, operation);
          else yield* secrets.set(secretKey, clientSecret, operation);
          yield* metadata.set(clientStoreKey(client.issuer), rest, operation);
        }).pipe(serialized("saveClient")),
      deleteClient: (issuer) =>
        Effect.gen(function* () {
          yield* metadata.remove(clientStoreKey(issuer), "deleteClient");
          yield* secrets.remove(clientSecretStoreKey(issuer), "deleteClient");
        }).pipe(serialized("deleteClient")),

      loadTokens: (key) =>
        loadSecret(
          TokenSet,
          tokenStoreKey(key),
          (tokens) => sameTokenKey(tokens.key, key),
          "loadTokens",
          "token set",
        ),
      saveTokens: (tokens) =>
        Effect.flatMap(encode(TokenSet, tokens, "saveTokens"), (encoded) =>
          secrets.set(tokenStoreKey(tokens.key), encoded, "saveTokens"),
        ).pipe(serialized("saveTokens")),
      deleteTokens: (key) =>
        secrets.remove(tokenStoreKey(key), "deleteTokens").pipe(serialized("deleteTokens")),

      loadDpopKey: (key) =>
        loadSecret(
          DpopKey,
          dpopKeyStoreKey(key),
          (dpopKey) => sameTokenKey(dpopKey.key, key),
          "loadDpopKey",
          "DPoP key",
        ),
      saveDpopKey: (dpopKey) =>
        Effect.flatMap(encode(DpopKey, dpopKey, "saveDpopKey"), (encoded) =>
          secrets.set(dpopKeyStoreKey(dpopKey.key), encoded, "saveDpopKey"),
        ).pipe(serialized("saveDpopKey")),
      deleteDpopKey: (key) =>
        secrets.remove(dpopKeyStoreKey(key), "deleteDpopKey").pipe(serialized("deleteDpopKey")),

      // The session's JSON is validated by core's PersistedSession on load; here only its type.
      loadSession: (serverUrl) =>
        Effect.flatMap(metadata.get(sessionStoreKey(serverUrl), "loadSession"), (stored) =>
          Option.match(stored, {
            onNone: () => Effect.succeed(Option.none<string>()),
            onSome: (value) =>
              typeof value === "string"
                ? Effect.succeed(Option.some(value))
                : Effect.fail(undecodable("loadSession", "session")),
          }),
        ),
      saveSession: (serverUrl, json) =>
        metadata
          .set(sessionStoreKey(serverUrl), json, "saveSession")
          .pipe(serialized("saveSession")),
      deleteSession: (serverUrl) =>
        metadata
          .remove(sessionStoreKey(serverUrl), "deleteSession")
          .pipe(serialized("deleteSession")),
    };
    return service;
  });

/** The file store as a service of its own (with `describe`), and as core's CredentialStore. */
export class FileCredentialStore extends Context.Tag("@authchart/node/FileCredentialStore")<
  FileCredentialStore,
  FileCredentialStoreService
>() {
  static readonly make = makeFileCredentialStore;

  /** Provides both FileCredentialStore and core's CredentialStore (the same instance). */
  static readonly layer = (
    options: FileCredentialStoreOptions = {},
  ): Layer.Layer<FileCredentialStore | CredentialStore, StoreFailed | KeychainUnavailable> =>
    Layer.effectContext(
      Effect.map(makeFileCredentialStore(options), (store) =>
        Context.make(FileCredentialStore, store).pipe(Context.add(CredentialStore, store)),
      ),
    );
}

/**
 * For `createSession({ store: await fileStore() })`. Rejects with the typed error itself
 * (StoreFailed, KeychainUnavailable).
 */
export const fileStore = async (
  options: FileCredentialStoreOptions = {},
): Promise<FileCredentialStoreService> => {
  const exit = await Effect.runPromiseExit(makeFileCredentialStore(options));
  if (Exit.isSuccess(exit)) return exit.value;
  throw Cause.squash(exit.cause);
};
