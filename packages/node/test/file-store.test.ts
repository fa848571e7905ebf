/** The file credential store on real files: restarts, modes, atomicity, corruption, e2e. */
import { chmod, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  type ClientRegistration,
  CredentialStore,
  createSession,
  type DpopKey,
  LockTimeout,
  StoreFailed,
  type TokenKey,
  type TokenSet,
  tokenStoreKey,
} from "@authchart/core";
import { startTestkit } from "@authchart/testkit";
import { Deferred, Effect, Option, Redacted } from "effect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeFileLock } from "../src/file-lock.js";
import {
  FileCredentialStore,
  type FileCredentialStoreService,
  fileStore,
  METADATA_FILE,
  SECRETS_FILE,
  STORE_LOCK_NAME,
  withStoreWriteLock,
} from "../src/file-store.js";

const posix = process.platform !== "win32";
const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);
const failure = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.flip(effect));

const issuer = "https://as.example/tenant";
const key: TokenKey = { resource: "https://mcp.example/mcp", issuer, clientId: "client-1" };
const otherKey: TokenKey = { ...key, resource: "https://other.example/mcp" };
const serverUrl = "https://mcp.example/mcp";

const client: ClientRegistration = {
  issuer,
  kind: "dynamic",
  clientId: "client-1",
  clientSecret: Redacted.make("CLIENT-SECRET-1"),
  clientSecretExpiresAt: 0,
  tokenEndpointAuthMethod: "client_secret_basic",
  redirectUris: ["http://127.0.0.1:33418/callback"],
  grantTypes: ["authorization_code", "refresh_token"],
  scope: "mcp:read offline_access",
  registeredAt: 1_700_000_000,
};
const tokens = (k: TokenKey, version = 1): TokenSet => ({
  key: k,
  accessToken: Redacted.make(`ACCESS-TOKEN-${version}`),
  tokenType: "DPoP",
  refreshToken: Redacted.make(`REFRESH-TOKEN-${version}`),
  expiresAt: 1_700_003_600_000,
  scopes: ["mcp:read", "offline_access"],
  obtainedAt: 1_700_000_000_000,
  version,
});
const dpopKey: DpopKey = {
  key,
  alg: "ES256",
  privateJwk: Redacted.make({
    kty: "EC",
    crv: "P-256",
    x: "x-coordinate",
    y: "y-coordinate",
    d: "DPOP-PRIVATE-D",
  }),
  createdAt: 1_700_000_000_000,
};
const sessionJson = JSON.stringify({ format: 1, serverUrl, savedAt: 1 });
const secretsInPlainText = [
  "CLIENT-SECRET-1",
  "ACCESS-TOKEN-1",
  "REFRESH-TOKEN-1",
  "DPOP-PRIVATE-D",
];

let directory: string;
beforeEach(async () => {
  directory = path.join(await mkdtemp(path.join(tmpdir(), "authchart-store-")), "authchart");
});
afterEach(() => rm(path.dirname(directory), { recursive: true, force: true }));

const saveAll = (store: FileCredentialStoreService) =>
  run(
    Effect.all([
      store.saveClient(client),
      store.saveTokens(tokens(key)),
      store.saveTokens(tokens(otherKey, 7)),
      store.saveDpopKey(dpopKey),
      store.saveSession(serverUrl, sessionJson),
    ]),
  );

describe("FileCredentialStore", () => {
  it("every entry kind survives a restart (a second store instance)", async () => {
    await saveAll(await fileStore({ directory }));
    const store = await fileStore({ directory });

    const loadedClient = Option.getOrThrow(await run(store.loadClient(issuer)));
    expect({ ...loadedClient, clientSecret: undefined }).toEqual({
      ...client,
      clientSecret: undefined,
    });
    expect(loadedClient.clientSecret && Redacted.value(loadedClient.clientSecret)).toBe(
      "CLIENT-SECRET-1",
    );

    const loadedTokens = Option.getOrThrow(await run(store.loadTokens(key)));
    expect(Redacted.value(loadedTokens.accessToken)).toBe("ACCESS-TOKEN-1");
    expect(loadedTokens.refreshToken && Redacted.value(loadedTokens.refreshToken)).toBe(
      "REFRESH-TOKEN-1",
    );
    expect(loadedTokens).toMatchObject({
      key,
      tokenType: "DPoP",
      version: 1,
      scopes: ["mcp:read", "offline_access"],
    });
    expect(Option.getOrThrow(await run(store.loadTokens(otherKey))).version).toBe(7);

    const loadedKey = Option.getOrThrow(await run(store.loadDpopKey(key)));
    expect(loadedKey).toMatchObject({ key, alg: "ES256", createdAt: dpopKey.createdAt });
    expect(Redacted.value(loadedKey.privateJwk)).toEqual(Redacted.value(dpopKey.privateJwk));

    expect(await run(store.loadSession(serverUrl))).toEqual(Option.some(sessionJson));
    // The saved sessions are listed by server URL (a URL with brackets and quotes included).
    const odd = 'https://mcp.example.com/a"[b]';
    await run(store.saveSession(odd, sessionJson));
    expect(await run(store.listSessions())).toEqual([odd, serverUrl].sort());
    await run(store.deleteSession(odd));

    // Deletes persist too; absent entries are None, not errors.
    await run(
      Effect.all([
        store.deleteClient(issuer),
        store.deleteTokens(key),
        store.deleteDpopKey(key),
        store.deleteSession(serverUrl),
      ]),
    );
    const after = await fileStore({ directory });
    expect(await run(after.loadClient(issuer))).toEqual(Option.none());
    expect(await run(after.loadTokens(key))).toEqual(Option.none());
    expect(await run(after.loadDpopKey(key))).toEqual(Option.none());
    expect(await run(after.loadSession(serverUrl))).toEqual(Option.none());
    expect(Option.isSome(await run(after.loadTokens(otherKey)))).toBe(true);
    expect(after.describe()).toMatchObject({ kind: "file", requested: "file" });
    expect(await run(after.listSessions())).toEqual([]);
  });

  it("a client saved again without a secret does not keep the old one", async () => {
    const store = await fileStore({ directory });
    await run(store.saveClient(client));
    const { clientSecret: _, ...publicClient } = client;
    await run(store.saveClient({ ...publicClient, tokenEndpointAuthMethod: "none" }));
    const loaded = Option.getOrThrow(
      await run((await fileStore({ directory })).loadClient(issuer)),
    );
    expect(loaded.clientSecret).toBeUndefined();
  });

  it.skipIf(!posix)("the directory is 0700 and the files 0600", async () => {
    await saveAll(await fileStore({ directory }));
    expect((await stat(directory)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(directory, METADATA_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(directory, SECRETS_FILE))).mode & 0o777).toBe(0o600);
  });

  it.skipIf(!posix)(
    "an existing group-readable file is fixed, or refused with insecure: refuse",
    async () => {
      await saveAll(await fileStore({ directory }));
      const metadataFile = path.join(directory, METADATA_FILE);
      await chmod(metadataFile, 0o644);
      const refusing = await fileStore({ directory, insecure: "refuse" });
      const error = await failure(refusing.loadSession(serverUrl));
      expect(error).toBeInstanceOf(StoreFailed);
      expect(error.reason).toMatch(/accessible to group or others/);
      const fixing = await fileStore({ directory });
      expect(Option.isSome(await run(fixing.loadSession(serverUrl)))).toBe(true);
      expect((await stat(metadataFile)).mode & 0o777).toBe(0o600);
    },
  );

  it("secrets are apart from metadata: none of them is in the metadata file", async () => {
    await saveAll(await fileStore({ directory }));
    const metadata = await readFile(path.join(directory, METADATA_FILE), "utf8");
    const secrets = await readFile(path.join(directory, SECRETS_FILE), "utf8");
    for (const secret of secretsInPlainText) {
      expect(metadata).not.toContain(secret);
      expect(secrets).toContain(secret);
    }
    // The metadata file has the client's public part and the session.
    expect(metadata).toContain("client-1");
    expect(metadata).toContain("authchart/session/");
  });

  it("a crash mid-write (a temp file never renamed) leaves the previous file intact", async () => {
    await saveAll(await fileStore({ directory }));
    const before = await readFile(path.join(directory, SECRETS_FILE), "utf8");
    // What a process killed between write and rename leaves: a partial temp file.
    const temp = path.join(directory, `.${SECRETS_FILE}.4242.abcdef012345.tmp`);
    await writeFile(temp, before.slice(0, before.length / 2), { mode: 0o600 });
    const fresh = path.join(directory, `.${METADATA_FILE}.4243.0123456789ab.tmp`);
    await writeFile(fresh, "{", { mode: 0o600 });

    // A minute later, another process opens the store.
    const old = new Date(Date.now() - 120_000);
    await utimes(temp, old, old);
    const store = await fileStore({ directory });
    expect(await readFile(path.join(directory, SECRETS_FILE), "utf8")).toBe(before);
    expect(Redacted.value(Option.getOrThrow(await run(store.loadTokens(key))).accessToken)).toBe(
      "ACCESS-TOKEN-1",
    );
    // The stale temp file is cleaned up; a recent one (a write in progress elsewhere) is not.
    const names = await readdir(directory);
    expect(names).not.toContain(path.basename(temp));
    expect(names).toContain(path.basename(fresh));
    // Writes go on as usual.
    await run(store.saveTokens(tokens(key, 2)));
    expect(Option.getOrThrow(await run(store.loadTokens(key))).version).toBe(2);
  });

  it("a corrupted secrets file: a typed StoreFailed for its entries, metadata still readable", async () => {
    await saveAll(await fileStore({ directory }));
    const secretsFile = path.join(directory, SECRETS_FILE);
    const text = await readFile(secretsFile, "utf8");
    await writeFile(secretsFile, text.slice(0, text.length - 40));
    const store = await fileStore({ directory });

    const reads: ReadonlyArray<Effect.Effect<unknown, StoreFailed>> = [
      store.loadTokens(key),
      store.loadDpopKey(key),
      store.loadClient(issuer),
    ];
    for (const read of reads) {
      const error = await failure(read);
      expect(error).toBeInstanceOf(StoreFailed);
      expect(error.reason).toMatch(/secrets\.json is not a valid store file/);
      for (const secret of secretsInPlainText) expect(error.message).not.toContain(secret);
    }
    expect(await run(store.loadSession(serverUrl))).toEqual(Option.some(sessionJson));
    // A write would drop the other entries: it fails and leaves the file as it was.
    const error = await failure(store.saveTokens(tokens(key, 3)));
    expect(error).toBeInstanceOf(StoreFailed);
    expect(await readFile(secretsFile, "utf8")).toBe(text.slice(0, text.length - 40));
  });

  it("a corrupted metadata file: sessions and clients fail typed, tokens still readable", async () => {
    await saveAll(await fileStore({ directory }));
    await writeFile(path.join(directory, METADATA_FILE), "not json at all");
    const store = await fileStore({ directory });
    expect(await failure(store.loadSession(serverUrl))).toBeInstanceOf(StoreFailed);
    expect(await failure(store.loadClient(issuer))).toBeInstanceOf(StoreFailed);
    expect(Option.isSome(await run(store.loadTokens(key)))).toBe(true);
    expect(Option.isSome(await run(store.loadDpopKey(key)))).toBe(true);
  });

  it("a tampered entry is a StoreFailed for that entry alone", async () => {
    await saveAll(await fileStore({ directory }));
    const secretsFile = path.join(directory, SECRETS_FILE);
    const document = JSON.parse(await readFile(secretsFile, "utf8"));
    // One entry no longer decodes; another is moved under a key that is not its own.
    document.entries[tokenStoreKey(key)] = { accessToken: 42 };
    document.entries[tokenStoreKey({ ...key, clientId: "client-2" })] =
      document.entries[tokenStoreKey(otherKey)];
    await writeFile(secretsFile, JSON.stringify(document));
    const store = await fileStore({ directory });

    const undecodable = await failure(store.loadTokens(key));
    expect(undecodable).toBeInstanceOf(StoreFailed);
    expect(undecodable.reason).toBe("stored token set does not decode");
    const moved = await failure(store.loadTokens({ ...key, clientId: "client-2" }));
    expect(moved.reason).toBe("stored token set does not belong to its key");
    expect(Option.getOrThrow(await run(store.loadTokens(otherKey))).version).toBe(7);
    expect(Option.isSome(await run(store.loadDpopKey(key)))).toBe(true);
    // Overwriting the bad entry repairs it and keeps the others.
    await run(store.saveTokens(tokens(key, 4)));
    expect(Option.getOrThrow(await run(store.loadTokens(key))).version).toBe(4);
    expect(Option.getOrThrow(await run(store.loadTokens(otherKey))).version).toBe(7);
  });

  it("concurrent writers in one process (two instances, one directory) lose nothing", async () => {
    const a = await fileStore({ directory });
    const b = await fileStore({ directory });
    const keys = Array.from({ length: 40 }, (_, i) => ({ ...key, clientId: `client-${i}` }));
    await run(
      Effect.all(
        keys.map((k, i) => (i % 2 === 0 ? a : b).saveTokens(tokens(k, i + 1))),
        { concurrency: "unbounded" },
      ),
    );
    const c = await fileStore({ directory });
    for (const [i, k] of keys.entries())
      expect(Option.getOrThrow(await run(c.loadTokens(k))).version).toBe(i + 1);
  });

  it("the Layer provides FileCredentialStore and core's CredentialStore", async () => {
    const program = Effect.gen(function* () {
      const store = yield* CredentialStore;
      const file = yield* FileCredentialStore;
      yield* store.saveSession(serverUrl, sessionJson);
      return { same: store === file, description: file.describe() };
    });
    const result = await run(Effect.provide(program, FileCredentialStore.layer({ directory })));
    expect(result.same).toBe(true);
    expect(result.description.secretsFile).toBe(path.join(directory, SECRETS_FILE));
    expect(await run((await fileStore({ directory })).loadSession(serverUrl))).toEqual(
      Option.some(sessionJson),
    );
  });
});

describe("withStoreWriteLock: the store's write lock for a file of one's own", () => {
  it("waits for the store's own lock holder; one held too long is a StoreFailed of the operation", async () => {
    await fileStore({ directory });
    const held = makeFileLock({ directory });
    const outcome = await run(
      held.withLock(
        STORE_LOCK_NAME,
        Effect.flip(
          withStoreWriteLock(directory, Effect.succeed("written"), {
            operation: "saveProfile",
            waitMillis: 100,
          }),
        ),
      ),
    );
    expect(outcome).toBeInstanceOf(StoreFailed);
    expect(outcome).toMatchObject({ operation: "saveProfile" });
    expect(outcome.message).toContain("another process kept the store's write lock");
    // released: it runs
    expect(
      await run(withStoreWriteLock(directory, Effect.succeed("written"), { operation: "x" })),
    ).toBe("written");
  });

  it("the effect's own failures pass through as they are, a lock error of its own included", async () => {
    const own = new LockTimeout({ name: "inner", waitMillis: 1 });
    expect(await failure(withStoreWriteLock(directory, Effect.fail(own), { operation: "x" }))).toBe(
      own,
    );
  });

  it("serializes with the store's own writes across instances in this process", async () => {
    const store = await fileStore({ directory });
    const order: string[] = [];
    await run(
      Effect.gen(function* () {
        // The store's write starts once this one holds the lock (not after a guessed delay: on
        // a loaded machine taking the lock can take longer than any guess).
        const holding = yield* Deferred.make<void>();
        yield* Effect.all(
          [
            withStoreWriteLock(
              directory,
              Effect.gen(function* () {
                order.push("mine: start");
                yield* Deferred.succeed(holding, undefined);
                yield* Effect.sleep("50 millis");
                order.push("mine: end");
              }),
              { operation: "x" },
            ),
            Deferred.await(holding).pipe(
              Effect.zipRight(store.saveSession(serverUrl, sessionJson)),
              Effect.tap(() => Effect.sync(() => order.push("store: saved"))),
            ),
          ],
          { concurrency: "unbounded" },
        );
      }),
    );
    expect(order).toEqual(["mine: start", "mine: end", "store: saved"]);
  });
});

describe("end to end with the testkit", () => {
  it("a session logs in; a second one over a new store instance makes no AS request", async () => {
    const kit = await startTestkit();
    try {
      const clientSettings = {
        clientName: "authchart node e2e",
        redirectUris: ["http://127.0.0.1:33418/callback"] as const,
      };
      const call = (fetch: typeof globalThis.fetch) =>
        fetch(kit.mcpUrl, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
          },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: 1,
            method: "tools/call",
            params: { name: "echo", arguments: { text: "hi" } },
          }),
        });

      const first = await createSession({
        serverUrl: kit.mcpUrl,
        client: clientSettings,
        store: await fileStore({ directory }),
        userAgent: (p) => kit.user.authorize(p.url),
      });
      expect((await call(first.fetch)).status).toBe(200);
      expect(kit.requests.some((r) => r.kind === "token")).toBe(true);
      await first.close();

      kit.clearLog();
      const second = await createSession({
        serverUrl: kit.mcpUrl,
        client: clientSettings,
        store: await fileStore({ directory }),
        userAgent: () => Promise.reject(new Error("no browser on the second run")),
      });
      expect(second.state().value).toBe("authorized");
      expect((await call(second.fetch)).status).toBe(200);
      expect(kit.requests.filter((r) => r.server === "as")).toEqual([]);
      expect(kit.requests.filter((r) => r.kind === "mcp").length).toBeGreaterThan(0);
      await second.close();

      const metadata = await readFile(path.join(directory, METADATA_FILE), "utf8");
      expect(metadata).not.toMatch(/accessToken|refreshToken/);
    } finally {
      await kit.close();
    }
  });
});
