/**
 * Secrets in the operating system's keychain (macOS Keychain, Windows Credential Manager, the
 * Secret Service on Linux desktops) through @napi-rs/keyring: one keychain entry per secret,
 * service "authchart" (or the one given), account = the store directory and the entry's key, so
 * two store directories never share a secret.
 *
 * Whether the keychain is usable is probed once per process and service: set, read back and
 * delete a test entry. Without a running secret service (a container, a CI runner, an SSH
 * session without D-Bus) the probe fails and the keychain is not usable.
 *
 * Limits: Windows Credential Manager holds at most 2560 bytes per entry; a token set with a large
 * JWT access token, or an RSA DPoP key, may exceed it (the save is then a StoreFailed).
 */
import { randomBytes } from "node:crypto";
import { StoreFailed } from "@authchart/core";
import { Effect, Option, Schema } from "effect";

/** The part of a keychain authchart uses (an injectable seam: tests, other keychains). */
export interface Keyring {
  readonly get: (service: string, account: string) => Promise<string | undefined>;
  readonly set: (service: string, account: string, value: string) => Promise<void>;
  /** Removes the entry; an absent one is not an error. */
  readonly delete: (service: string, account: string) => Promise<void>;
}

/**
 * The OS keychain through @napi-rs/keyring's AsyncEntry (the native module is loaded on first
 * use, so a process that keeps its secrets in a file never loads it).
 */
export const napiKeyring: Keyring = (() => {
  let module: Promise<typeof import("@napi-rs/keyring")> | undefined;
  const entry = async (service: string, account: string) => {
    module ??= import("@napi-rs/keyring");
    const { AsyncEntry } = await module;
    return new AsyncEntry(service, account);
  };
  return {
    get: async (service, account) =>
      (await (await entry(service, account)).getPassword()) ?? undefined,
    set: async (service, account, value) => {
      await (await entry(service, account)).setPassword(value);
    },
    delete: async (service, account) => {
      await (await entry(service, account)).deleteCredential();
    },
  };
})();

/** `secrets: "keychain"` was asked for and the keychain is not usable here. */
export class KeychainUnavailable extends Schema.TaggedError<KeychainUnavailable>()(
  "KeychainUnavailable",
  { service: Schema.String, reason: Schema.String },
) {
  override get message() {
    return `the OS keychain is not usable (service ${this.service}): ${this.reason}`;
  }
}

export type KeychainProbe =
  | { readonly usable: true }
  | { readonly usable: false; readonly reason: string };

const firstLine = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "unknown error";

const probes = new WeakMap<Keyring, Map<string, Promise<KeychainProbe>>>();

/** Set, read back and delete a test entry: once per keyring and service in this process. */
export const probeKeychain = (
  keyring: Keyring = napiKeyring,
  service = "authchart",
): Effect.Effect<KeychainProbe> =>
  Effect.promise(() => {
    let byService = probes.get(keyring);
    if (!byService) {
      byService = new Map();
      probes.set(keyring, byService);
    }
    let probe = byService.get(service);
    if (!probe) {
      probe = runProbe(keyring, service);
      byService.set(service, probe);
    }
    return probe;
  });

const runProbe = async (keyring: Keyring, service: string): Promise<KeychainProbe> => {
  const account = `authchart-probe-${randomBytes(8).toString("hex")}`;
  const value = randomBytes(16).toString("hex");
  try {
    await keyring.set(service, account, value);
    const read = await keyring.get(service, account);
    await keyring.delete(service, account);
    return read === value
      ? { usable: true }
      : { usable: false, reason: "a test entry did not read back" };
  } catch (error) {
    await keyring.delete(service, account).catch(() => undefined);
    return { usable: false, reason: firstLine(error) };
  }
};

/**
 * Where the store keeps its secrets. Values are the Schema-encoded form of an entry (JSON
 * values); decoding them is the store's.
 */
export interface SecretsBackend {
  readonly kind: "file" | "keychain";
  readonly get: (
    key: string,
    operation: string,
  ) => Effect.Effect<Option.Option<unknown>, StoreFailed>;
  readonly set: (
    key: string,
    value: unknown,
    operation: string,
  ) => Effect.Effect<void, StoreFailed>;
  readonly remove: (key: string, operation: string) => Effect.Effect<void, StoreFailed>;
}

export interface KeychainSecretsOptions {
  /** The store directory: part of every account name. */
  readonly directory: string;
  /** Default "authchart". */
  readonly service?: string | undefined;
  /** Default: the OS keychain (napiKeyring). */
  readonly keyring?: Keyring | undefined;
}

export const KeychainSecrets = {
  /** The keychain backend, after a successful probe; KeychainUnavailable otherwise. */
  make: (
    options: KeychainSecretsOptions,
  ): Effect.Effect<SecretsBackend & { readonly service: string }, KeychainUnavailable> =>
    Effect.gen(function* () {
      const service = options.service ?? "authchart";
      const keyring = options.keyring ?? napiKeyring;
      const probe = yield* probeKeychain(keyring, service);
      if (!probe.usable) return yield* new KeychainUnavailable({ service, reason: probe.reason });
      const account = (key: string) => JSON.stringify([options.directory, key]);
      const failed = (operation: string) => (error: unknown) =>
        new StoreFailed({ operation, reason: `keychain: ${firstLine(error)}` });
      return {
        kind: "keychain" as const,
        service,
        get: (key, operation) =>
          Effect.tryPromise({
            try: () => keyring.get(service, account(key)),
            catch: failed(operation),
          }).pipe(
            Effect.flatMap((text) =>
              text === undefined
                ? Effect.succeed(Option.none())
                : Effect.try({
                    try: () => Option.some(JSON.parse(text) as unknown),
                    catch: () =>
                      new StoreFailed({ operation, reason: "keychain entry is not JSON" }),
                  }),
            ),
          ),
        set: (key, value, operation) =>
          Effect.tryPromise({
            try: () => keyring.set(service, account(key), JSON.stringify(value)),
            catch: failed(operation),
          }),
        remove: (key, operation) =>
          Effect.tryPromise({
            try: () => keyring.delete(service, account(key)),
            catch: failed(operation),
          }),
      } satisfies SecretsBackend & { readonly service: string };
    }),
};
