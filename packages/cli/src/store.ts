/**
 * Where the command keeps its state: the directory (`--config-dir`, else AUTHCHART_CONFIG_DIR,
 * else the per-user default of @authchart/node), the file credential store in it (tokens and
 * client secrets in `secrets.json`, metadata and sessions in `metadata.json`, both 0600 in a 0700
 * directory), its lock files, and `servers.json`: how `login` registered at each server, so that
 * `call`, `tools` and `logout` later use the same client (a pre-registered client id, the name of
 * the environment variable holding its secret — never the secret —, a client-ID metadata document
 * URL, the redirect port).
 *
 * `servers.json` is kept as the store keeps its own files: read through readPrivateFile (it must
 * be this user's; a file group or others can access is made 0600), and every read-modify-write
 * (saveProfile, deleteProfile) holds the store's write lock (withStoreWriteLock: `store.lock`),
 * so that two `authchart login`s at once keep both profiles.
 */

import * as path from "node:path";
import { Protocol, StoreFailed } from "@authchart/core";
import {
  defaultStoreDirectory,
  ensurePrivateDirectory,
  type FileCredentialStoreService,
  fileStore,
  readPrivateFile,
  withStoreWriteLock,
  writeFileAtomic,
} from "@authchart/node";
import { Effect, Option, Schema } from "effect";

/**
 * The redirect port when none is given: 0, a free port bound at each sign-in — the authorization
 * server must accept any port of a loopback IP redirect URI
 * (https://www.rfc-editor.org/rfc/rfc8252#section-7.3).
 */
export const DEFAULT_REDIRECT_PORT = 0;

export const redirectUriFor = (port: number) => `http://127.0.0.1:${port}/callback`;

/** The configuration directory: the option (which falls back to AUTHCHART_CONFIG_DIR), else the default. */
export const configDirectory = (option: Option.Option<string>): string =>
  Option.getOrElse(option, () => defaultStoreDirectory());

/** Opens (creating it 0700 if need be) the file credential store in `directory`. */
export const openStore = (directory: string) =>
  Effect.tryPromise({
    try: () => fileStore({ directory }),
    catch: (error) =>
      typeof error === "object" && error !== null && "_tag" in error
        ? (error as StoreFailed)
        : new StoreFailed({ operation: "open", reason: String(error) }),
  });

export type Store = FileCredentialStoreService;

const canonical = (url: string) => {
  const result = Protocol.canonicalResourceUri(url);
  return result.ok ? result.uri : url;
};

/**
 * The URL a server's session is saved under: `url` as typed, or a saved one that names the same
 * resource (RFC 8707 §2: scheme and host case, a trailing slash), so that
 * `status https://MCP.example.com/mcp/` finds what `login https://mcp.example.com/mcp` saved.
 */
export const findSavedServer = (store: Store, url: string) =>
  Effect.map(store.listSessions(), (servers) =>
    servers.includes(url)
      ? Option.some(url)
      : Option.fromNullable(servers.find((server) => canonical(server) === canonical(url))),
  );

/** The saved URL naming the same resource as `url`, else `url` itself. */
export const serverUrlFor = (store: Store, url: string) =>
  Effect.map(
    findSavedServer(store, url),
    Option.getOrElse(() => url),
  );

/** How `login` reached a server's authorization server; no secret, ever. */
export const ServerProfile = Schema.Struct({
  /** A pre-registered client id (MCP "Preregistration"). */
  clientId: Schema.optional(Schema.String),
  /** The issuer the pre-registered client belongs to; absent: the first one it is used with. */
  issuer: Schema.optional(Schema.String),
  /** The environment variable that holds the client secret (its name only). */
  clientSecretEnv: Schema.optional(Schema.String),
  /** A client-ID metadata document URL (MCP "Client ID Metadata Documents"). */
  clientMetadataUrl: Schema.optional(Schema.String),
  /** The loopback redirect port the client registered. */
  port: Schema.Number,
});
export type ServerProfile = typeof ServerProfile.Type;

const ProfilesFile = Schema.parseJson(
  Schema.Struct({
    format: Schema.Literal(1),
    servers: Schema.Record({ key: Schema.String, value: ServerProfile }),
  }),
);

export const PROFILES_FILE = "servers.json";

const profilesPath = (directory: string) => path.join(directory, PROFILES_FILE);

const readProfiles = (directory: string) =>
  readPrivateFile(profilesPath(directory), { operation: "readProfiles" }).pipe(
    Effect.flatMap((text) =>
      text === undefined
        ? Effect.succeed({} as Readonly<Record<string, ServerProfile>>)
        : Schema.decode(ProfilesFile)(text).pipe(
            Effect.map((file) => file.servers),
            Effect.mapError(
              () =>
                new StoreFailed({
                  operation: "readProfiles",
                  reason: `${profilesPath(directory)} is not a valid servers file (move it aside to start over)`,
                }),
            ),
          ),
    ),
  );

/** The profile `login` saved for `serverUrl`, if any. */
export const loadProfile = (directory: string, serverUrl: string) =>
  Effect.map(readProfiles(directory), (servers) => Option.fromNullable(servers[serverUrl]));

const writeProfiles = (directory: string, servers: Readonly<Record<string, ServerProfile>>) =>
  Effect.flatMap(ensurePrivateDirectory(directory), () =>
    Effect.tryPromise({
      try: () =>
        writeFileAtomic(
          profilesPath(directory),
          `${Schema.encodeSync(ProfilesFile)({ format: 1, servers })}\n`,
        ),
      catch: () =>
        new StoreFailed({
          operation: "saveProfile",
          reason: `cannot write ${profilesPath(directory)}`,
        }),
    }),
  );

export const saveProfile = (directory: string, serverUrl: string, profile: ServerProfile) =>
  withStoreWriteLock(
    directory,
    Effect.flatMap(readProfiles(directory), (servers) =>
      writeProfiles(directory, { ...servers, [serverUrl]: profile }),
    ),
    { operation: "saveProfile" },
  );

export const deleteProfile = (directory: string, serverUrl: string) =>
  withStoreWriteLock(
    directory,
    Effect.flatMap(readProfiles(directory), (servers) => {
      if (!(serverUrl in servers)) return Effect.void;
      const { [serverUrl]: _removed, ...rest } = servers;
      return writeProfiles(directory, rest);
    }),
    { operation: "deleteProfile" },
  );
