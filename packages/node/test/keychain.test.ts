/** The keychain backend: the real probe here, "auto" and "keychain", and a keyring double. */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { TokenSet } from "@authchart/core";
import { Effect, Option, Redacted } from "effect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fileStore, METADATA_FILE, SECRETS_FILE } from "../src/file-store.js";
import { KeychainUnavailable, type Keyring, probeKeychain } from "../src/keychain.js";

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(path.join(tmpdir(), "authchart-keychain-"));
});
afterEach(() => rm(directory, { recursive: true, force: true }));

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);

/** An in-memory keychain that counts its calls. */
const memoryKeyring = () => {
  const entries = new Map<string, string>();
  const id = (service: string, account: string) => JSON.stringify([service, account]);
  const calls = { set: 0 };
  const keyring: Keyring = {
    get: async (service, account) => entries.get(id(service, account)),
    set: async (service, account, value) => {
      calls.set++;
      entries.set(id(service, account), value);
    },
    delete: async (service, account) => {
      entries.delete(id(service, account));
    },
  };
  return { keyring, entries, calls };
};

const brokenKeyring: Keyring = {
  get: async () => undefined,
  set: async () => {
    throw new Error("No matching entry found in secure storage\nbacktrace...");
  },
  delete: async () => undefined,
};

const key = { resource: "https://mcp.example/mcp", issuer: "https://as.example", clientId: "c1" };
const tokens: TokenSet = {
  key,
  accessToken: Redacted.make("ACCESS-IN-KEYCHAIN"),
  tokenType: "Bearer",
  refreshToken: Redacted.make("REFRESH-IN-KEYCHAIN"),
  scopes: ["mcp:read"],
  obtainedAt: 1,
  version: 1,
};

/** The real OS keychain's probe, once (a set, a read and a delete of a test entry). */
const realProbe = await run(probeKeychain());

describe("the OS keychain in this environment", () => {
  it("the probe answers (and is not usable in a container without a secret service)", async () => {
    const probe = await run(probeKeychain());
    expect(probe).toBe(realProbe);
    // On a desktop with a keychain this is usable; the tests below use doubles either way.
    if (process.env.AUTHCHART_EXPECT_KEYCHAIN !== "1") {
      expect(probe.usable).toBe(false);
      expect(probe.usable ? "" : probe.reason).not.toBe("");
    }
  });

  it.skipIf(realProbe.usable)(
    '"auto" falls back to the secrets file and says why; "keychain" fails at make',
    async () => {
      const store = await fileStore({ directory, secrets: "auto" });
      expect(store.describe()).toMatchObject({
        kind: "file",
        requested: "auto",
        secretsFile: path.join(directory, SECRETS_FILE),
      });
      expect(store.describe().keychainUnusable).toBeTruthy();
      await run(store.saveTokens(tokens));
      expect(await readdir(directory)).toContain(SECRETS_FILE);

      const error = await fileStore({ directory, secrets: "keychain" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeychainUnavailable);
      expect((error as KeychainUnavailable).service).toBe("authchart");
    },
  );
});

describe("with a keyring double", () => {
  it('"keychain" when the probe fails is a typed KeychainUnavailable at make', async () => {
    const error = await fileStore({ directory, secrets: "keychain", keyring: brokenKeyring }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KeychainUnavailable);
    expect((error as KeychainUnavailable).reason).toBe("No matching entry found in secure storage");
    const auto = await fileStore({ directory, secrets: "auto", keyring: brokenKeyring });
    expect(auto.describe()).toMatchObject({
      kind: "file",
      keychainUnusable: "No matching entry found in secure storage",
    });
  });

  it("usable: secrets go to the keychain, none to a file; probed once per process", async () => {
    const { keyring, entries, calls } = memoryKeyring();
    const store = await fileStore({ directory, secrets: "auto", keyring });
    expect(store.describe()).toMatchObject({
      kind: "keychain",
      keychainService: "authchart",
      requested: "auto",
    });
    expect(store.describe().secretsFile).toBeUndefined();
    await run(store.saveTokens(tokens));
    await run(store.saveSession(key.resource, "{}"));
    expect(await readdir(directory)).toEqual([METADATA_FILE]);
    expect(entries.size).toBe(1);
    expect([...entries.values()][0]).toContain("REFRESH-IN-KEYCHAIN");

    // A restart: the same keychain, a new store instance (the probe is not run again).
    const setsBefore = calls.set;
    const again = await fileStore({ directory, secrets: "keychain", keyring });
    expect(calls.set).toBe(setsBefore);
    const loaded = Option.getOrThrow(await run(again.loadTokens(tokens.key)));
    expect(Redacted.value(loaded.accessToken)).toBe("ACCESS-IN-KEYCHAIN");

    // Another directory does not see these secrets.
    const otherDir = path.join(directory, "other");
    const other = await fileStore({ directory: otherDir, secrets: "keychain", keyring });
    expect(await run(other.loadTokens(tokens.key))).toEqual(Option.none());

    await run(again.deleteTokens(tokens.key));
    expect(entries.size).toBe(0);
  });

  it("an undecodable keychain entry is a StoreFailed for that entry", async () => {
    const { keyring, entries } = memoryKeyring();
    const store = await fileStore({ directory, secrets: "keychain", keyring });
    await run(store.saveTokens(tokens));
    const [account] = [...entries.keys()];
    entries.set(account ?? "", "{not json");
    const error = await run(Effect.flip(store.loadTokens(tokens.key)));
    expect(error._tag).toBe("StoreFailed");
    expect(error.reason).toBe("keychain entry is not JSON");
  });
});
