/**
 * Where authchart keeps a user's state on this machine, and how that directory is kept private.
 *
 * The per-user configuration directory of each platform: `$XDG_CONFIG_HOME` (an absolute path,
 * else `~/.config`) on Linux and the other Unixes (XDG Base Directory Specification),
 * `~/Library/Application Support` on macOS, `%APPDATA%` on Windows; authchart's own directory is
 * `authchart` inside it.
 *
 * Permissions (POSIX only; on Windows the per-user profile's ACLs protect `%APPDATA%` and modes
 * mean nothing): the directory is created 0700. An existing directory that is group- or
 * world-accessible is, by default, narrowed to 0700 when the current user owns it ("fix": the
 * same answer as a fresh directory, without making a user with `umask 022` chmod by hand);
 * with `insecure: "refuse"` it is a StoreFailed instead. A directory owned by another user is
 * always refused: its owner can read and replace every file in it.
 */
import { chmod, mkdir, realpath, stat } from "node:fs/promises";
import { homedir } from "node:os";
import * as path from "node:path";
import { StoreFailed } from "@authchart/core";
import { Effect } from "effect";

export interface ConfigDirOptions {
  /** Default: process.platform. */
  readonly platform?: NodeJS.Platform | undefined;
  /** Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Default: os.homedir(). */
  readonly homedir?: string | undefined;
}

/** The per-user configuration directory of the platform (not authchart's own: see below). */
export const userConfigDirectory = (options: ConfigDirOptions = {}): string => {
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const home = options.homedir ?? homedir();
  if (platform === "win32") {
    const appData = env.APPDATA;
    return appData && path.win32.isAbsolute(appData)
      ? appData
      : path.win32.join(home, "AppData", "Roaming");
  }
  if (platform === "darwin") return path.posix.join(home, "Library", "Application Support");
  // XDG Base Directory Specification: a relative $XDG_CONFIG_HOME is invalid and to be ignored.
  const xdg = env.XDG_CONFIG_HOME;
  return xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, ".config");
};

/** authchart's directory: `authchart` in the user's configuration directory. */
export const defaultStoreDirectory = (options: ConfigDirOptions = {}): string => {
  const platform = options.platform ?? process.platform;
  const join = platform === "win32" ? path.win32.join : path.posix.join;
  return join(userConfigDirectory(options), "authchart");
};

/** What to do with an existing directory or file that others can access. */
export type InsecurePermissions = "fix" | "refuse";

const isPosix = () => process.platform !== "win32";

const describeError = (error: unknown) =>
  error instanceof Error && "code" in error ? String(error.code) : String(error);

/**
 * Creates `directory` 0700 (its parents with the default mode) or checks the existing one: a
 * directory, owned by this user, not accessible to group or others (see the module's note on
 * "fix" and "refuse"). Returns its real path.
 */
export const ensurePrivateDirectory = (
  directory: string,
  insecure: InsecurePermissions = "fix",
): Effect.Effect<string, StoreFailed> =>
  Effect.tryPromise({
    try: async () => {
      const absolute = path.resolve(directory);
      await mkdir(path.dirname(absolute), { recursive: true });
      try {
        await mkdir(absolute, { mode: 0o700 });
        // The umask cannot widen 0700, but an odd one may narrow it below what we need.
        if (isPosix()) await chmod(absolute, 0o700);
      } catch (error) {
        if (!(error instanceof Error && "code" in error && error.code === "EEXIST")) throw error;
      }
      const real = await realpath(absolute);
      const info = await stat(real);
      if (!info.isDirectory()) throw new StoreRefusal(`${real} is not a directory`);
      if (isPosix()) {
        if (info.uid !== process.getuid?.())
          throw new StoreRefusal(`${real} belongs to another user (uid ${info.uid})`);
        if ((info.mode & 0o077) !== 0) {
          const mode = (info.mode & 0o777).toString(8);
          if (insecure === "refuse")
            throw new StoreRefusal(`${real} is accessible to group or others (mode ${mode})`);
          await chmod(real, 0o700);
        }
      }
      return real;
    },
    catch: (error) =>
      new StoreFailed({
        operation: "open",
        reason:
          error instanceof StoreRefusal
            ? error.message
            : `cannot prepare ${directory}: ${describeError(error)}`,
      }),
  });

/** A refusal with a reason meant for the user (no secret ever goes into one). */
export class StoreRefusal extends Error {}
