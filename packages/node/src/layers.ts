/**
 * `NodeAuth.layer`: every service a session's steps need on Node, in one Layer — for
 * `createSession({ serverUrl, client, layer: NodeAuth.layer() })` and core's Effect API
 * (`AuthSession.layer({ …, layer })`).
 *
 * - CredentialStore and FileCredentialStore: the per-user file store (file-store.ts), one instance;
 * - SessionLock: the file lock (file-lock.ts) in `locks` inside the store's directory, so the
 *   processes of one user sharing the store refresh a rotating refresh token once between them;
 * - UserAgent: `nodeUserAgent` (the loopback receiver and the system browser, or paste mode
 *   without a display), or a function of the application's;
 * - on top of core's defaults: OAuthHttp over fetch, Randomness, and DPoP over the same store.
 *
 * A layer given to createSession replaces its `http`, `fetch` (for the OAuth requests), `dpop`,
 * `store`, `lock`, `userAgent` and `deviceCodePresenter` options: they are this layer's options instead. In particular
 * plain http to a loopback authorization server (a local development setup) needs
 * `http: { allowInsecureLoopback: true }` here.
 *
 * createSession takes a layer that cannot fail, so a store that cannot be opened (a directory of
 * another user, `secrets: "keychain"` without a keychain) does not fail the layer: every store
 * operation fails with a StoreFailed saying why, and createSession rejects with it when it reads
 * the saved session. `FileCredentialStore.layer` is the variant that fails when it is built.
 */
import * as path from "node:path";
import {
  CredentialStore,
  DeviceCodePresenter,
  type DeviceCodePrompt,
  DPoP,
  type DpopPolicy,
  type HttpPolicy,
  OAuthHttp,
  Randomness,
  SessionLock,
  type StepServices,
  StoreFailed,
  UserAgent,
} from "@authchart/core";
import { Context, Effect, Layer } from "effect";
import { defaultStoreDirectory } from "./config-dir.js";
import { makeFileLock } from "./file-lock.js";
import {
  FileCredentialStore,
  type FileCredentialStoreOptions,
  type FileCredentialStoreService,
  type FileStoreDescription,
  METADATA_FILE,
  makeFileCredentialStore,
  SECRETS_FILE,
} from "./file-store.js";
import { type NodeUserAgentOptions, nodeUserAgent } from "./user-agent.js";

/** What core's UserAgent.fromPromise takes (a function, or an agent that binds first). */
type UserAgentArgument = Parameters<typeof UserAgent.fromPromise>[0];

/** The application's own user agent as is; else nodeUserAgent with the options given. */
const userAgentOf = (option: NodeAuthOptions["userAgent"]): UserAgentArgument =>
  typeof option === "function" || (option !== undefined && "prepare" in option)
    ? (option as UserAgentArgument)
    : nodeUserAgent(option as NodeUserAgentOptions | undefined);

export interface NodeAuthLockOptions {
  /** Where the lock files live. Default: `locks` in the store's directory. */
  readonly directory?: string | undefined;
  /** See FileLockOptions: a holder whose heartbeat is older than this is stale. Default 20 s. */
  readonly staleMillis?: number | undefined;
  readonly heartbeatMillis?: number | undefined;
}

export interface NodeAuthOptions extends FileCredentialStoreOptions {
  /**
   * The browser step: `nodeUserAgent` with these options (the default: the system browser, or
   * paste mode without a display; `{ headless: true }` forces paste mode), or a user agent of the
   * application's own (anything createSession's `userAgent` takes).
   */
  readonly userAgent?: NodeUserAgentOptions | UserAgentArgument | undefined;
  /** The session lock's files. */
  readonly lock?: NodeAuthLockOptions | undefined;
  /** The OAuth requests' policy (core's defaults: https only, 10 s, 256 KiB). */
  readonly http?: Partial<HttpPolicy> | undefined;
  /** Transport for the OAuth requests (discovery, registration, tokens). Default: globalThis.fetch. */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /** DPoP (RFC 9449): "auto" (default), "required" or "off", as createSession's `dpop`. */
  readonly dpop?: DpopPolicy | undefined;
  /**
   * Shows the device grant's user code and verification URI (RFC 8628 §3.3), as createSession's
   * `deviceCodePresenter`. Default: printed to stderr.
   */
  readonly deviceCodePresenter?: ((prompt: DeviceCodePrompt) => Promise<void>) | undefined;
}

/** What NodeAuth.layer provides: core's StepServices and the optional ones it uses. */
export type NodeAuthServices =
  | StepServices
  | FileCredentialStore
  | SessionLock
  | DPoP
  | DeviceCodePresenter;

/** A store that could not be opened: every operation fails, saying why. */
const unavailableStore = (
  reason: string,
  description: FileStoreDescription,
): FileCredentialStoreService => {
  const fail = (operation: string) => () => Effect.fail(new StoreFailed({ operation, reason }));
  return {
    describe: () => description,
    listSessions: fail("listSessions"),
    loadClient: fail("loadClient"),
    saveClient: fail("saveClient"),
    deleteClient: fail("deleteClient"),
    loadTokens: fail("loadTokens"),
    saveTokens: fail("saveTokens"),
    deleteTokens: fail("deleteTokens"),
    loadDpopKey: fail("loadDpopKey"),
    saveDpopKey: fail("saveDpopKey"),
    deleteDpopKey: fail("deleteDpopKey"),
    loadSession: fail("loadSession"),
    saveSession: fail("saveSession"),
    deleteSession: fail("deleteSession"),
  };
};

/** The store (or one that says why it could not open) and the file lock beside it. */
const storeAndLock = (options: NodeAuthOptions) =>
  Layer.effectContext(
    Effect.gen(function* () {
      const requestedDirectory = path.resolve(
        options.directory ?? defaultStoreDirectory(options.configDir),
      );
      const opened = yield* Effect.either(makeFileCredentialStore(options));
      const store =
        opened._tag === "Right"
          ? opened.right
          : unavailableStore(
              opened.left._tag === "StoreFailed" ? opened.left.reason : opened.left.message,
              {
                directory: requestedDirectory,
                metadataFile: path.join(requestedDirectory, METADATA_FILE),
                kind: options.secrets === "keychain" ? "keychain" : "file",
                requested: options.secrets ?? "file",
                ...(options.secrets === "keychain"
                  ? {}
                  : { secretsFile: path.join(requestedDirectory, SECRETS_FILE) }),
                unavailable: opened.left.message,
              },
            );
      const lock = makeFileLock({
        directory: options.lock?.directory ?? path.join(store.describe().directory, "locks"),
        staleMillis: options.lock?.staleMillis,
        heartbeatMillis: options.lock?.heartbeatMillis,
      });
      return Context.make(FileCredentialStore, store).pipe(
        Context.add(CredentialStore, store),
        Context.add(SessionLock, lock),
      );
    }),
  );

export const NodeAuth = {
  /**
   * Everything a session needs on Node (see the module's note): the file store, the file lock,
   * the system browser, and core's HTTP, randomness and DPoP. Built once per session (a Layer is
   * a recipe: each createSession builds its own).
   */
  layer: (options: NodeAuthOptions = {}): Layer.Layer<NodeAuthServices> =>
    Layer.mergeAll(
      OAuthHttp.layerFetch(options.http, options.fetch),
      Randomness.layer,
      UserAgent.fromPromise(userAgentOf(options.userAgent)),
      // DPoP keys live in the store beside the tokens they bind.
      DPoP.layer({ policy: options.dpop ?? "auto" }),
      options.deviceCodePresenter === undefined
        ? DeviceCodePresenter.layer
        : DeviceCodePresenter.fromPromise(options.deviceCodePresenter),
    ).pipe(Layer.provideMerge(storeAndLock(options))),
};
