/** The per-user configuration directory of each platform, and the private directory's checks. */
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { StoreFailed } from "@authchart/core";
import { Effect } from "effect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  defaultStoreDirectory,
  ensurePrivateDirectory,
  userConfigDirectory,
} from "../src/config-dir.js";

describe("userConfigDirectory", () => {
  it("Linux: $XDG_CONFIG_HOME when absolute, else ~/.config", () => {
    const home = "/home/ada";
    expect(
      userConfigDirectory({ platform: "linux", env: { XDG_CONFIG_HOME: "/xdg" }, homedir: home }),
    ).toBe("/xdg");
    expect(
      userConfigDirectory({ platform: "linux", env: { XDG_CONFIG_HOME: "rel" }, homedir: home }),
    ).toBe("/home/ada/.config");
    expect(userConfigDirectory({ platform: "linux", env: {}, homedir: home })).toBe(
      "/home/ada/.config",
    );
    expect(userConfigDirectory({ platform: "freebsd", env: {}, homedir: home })).toBe(
      "/home/ada/.config",
    );
  });

  it("macOS: ~/Library/Application Support (XDG is not consulted)", () => {
    expect(
      userConfigDirectory({
        platform: "darwin",
        env: { XDG_CONFIG_HOME: "/xdg" },
        homedir: "/Users/ada",
      }),
    ).toBe("/Users/ada/Library/Application Support");
  });

  it("Windows: %APPDATA%, else the profile's AppData\\Roaming", () => {
    expect(
      userConfigDirectory({
        platform: "win32",
        env: { APPDATA: "C:\\Users\\ada\\AppData\\Roaming" },
        homedir: "C:\\Users\\ada",
      }),
    ).toBe("C:\\Users\\ada\\AppData\\Roaming");
    expect(userConfigDirectory({ platform: "win32", env: {}, homedir: "C:\\Users\\ada" })).toBe(
      "C:\\Users\\ada\\AppData\\Roaming",
    );
  });

  it("authchart's directory is `authchart` inside it", () => {
    expect(defaultStoreDirectory({ platform: "linux", env: {}, homedir: "/home/ada" })).toBe(
      "/home/ada/.config/authchart",
    );
    expect(
      defaultStoreDirectory({ platform: "win32", env: { APPDATA: "C:\\A" }, homedir: "C:\\U" }),
    ).toBe("C:\\A\\authchart");
  });
});

describe.skipIf(process.platform === "win32")("ensurePrivateDirectory", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "authchart-dir-"));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const failure = (effect: Effect.Effect<unknown, StoreFailed>) =>
    Effect.runPromise(Effect.flip(effect));

  it("creates the directory (and its parents) with mode 0700", async () => {
    const dir = path.join(root, "a", "b", "authchart");
    const real = await Effect.runPromise(ensurePrivateDirectory(dir));
    expect((await stat(real)).mode & 0o777).toBe(0o700);
  });

  it('"fix" (default): an existing group/world-accessible directory becomes 0700', async () => {
    const dir = path.join(root, "open");
    await Effect.runPromise(ensurePrivateDirectory(dir));
    await chmod(dir, 0o755);
    await Effect.runPromise(ensurePrivateDirectory(dir));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it('"refuse": an existing group/world-accessible directory is a StoreFailed', async () => {
    const dir = path.join(root, "open");
    await Effect.runPromise(ensurePrivateDirectory(dir));
    await chmod(dir, 0o750);
    const error = await failure(ensurePrivateDirectory(dir, "refuse"));
    expect(error).toBeInstanceOf(StoreFailed);
    expect(error.reason).toMatch(/accessible to group or others \(mode 750\)/);
    expect((await stat(dir)).mode & 0o777).toBe(0o750);
  });

  it("a file where the directory should be is a StoreFailed", async () => {
    const file = path.join(root, "file");
    await writeFile(file, "x");
    const error = await failure(ensurePrivateDirectory(file));
    expect(error).toBeInstanceOf(StoreFailed);
    expect(error.operation).toBe("open");
  });
});
