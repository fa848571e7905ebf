/**
 * The browser the browser tests drive: Debian's chromium at /usr/bin/chromium, installed by the
 * test setup itself when it is missing (testkit's ensureDebianProgram: apt-get, skipped only
 * without apt, failing in CI), and launched through playwright-core with that executable — never
 * a browser build downloaded by a test tool.
 *
 * The launch flags are the ones this closed network needs: no background networking, component
 * updates, sync or QUIC (each would try hosts that cannot be reached), no GPU, no sandbox (root),
 * and a fresh profile directory that `close()` removes.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DEBIAN_SETUP_TIMEOUT_MILLIS,
  type DebianProgramAvailability,
  ensureDebianProgram,
} from "@authchart/testkit";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

/** How long the setup hook may take: apt-get update and a chromium install take a minute or more. */
export const CHROMIUM_SETUP_TIMEOUT_MILLIS = DEBIAN_SETUP_TIMEOUT_MILLIS;

export type ChromiumAvailability = DebianProgramAvailability;

/**
 * /usr/bin/chromium, installed from Debian's packages when it is missing. Resolves unavailable
 * (outside CI) when apt cannot be used; rejects when an install was attempted and failed, or in CI.
 */
export const ensureChromium = (): Promise<ChromiumAvailability> =>
  ensureDebianProgram({
    packageName: "chromium",
    executable: CHROMIUM_PATH,
    tests: "the browser tests",
    logPrefix: "browser setup",
  });

export interface LaunchedChromium {
  readonly context: BrowserContext;
  /** Requests the browser tried to make to anything but loopback (refused). */
  readonly blocked: readonly string[];
  /** Closes the browser and removes its profile directory. */
  readonly close: () => Promise<void>;
}

const isLoopback = (url: string) => {
  try {
    const { protocol, hostname } = new URL(url);
    if (protocol === "data:" || protocol === "about:") return true;
    return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
  } catch {
    return false;
  }
};

/**
 * Launches chromium headless with a fresh profile. Every request that leaves loopback is refused
 * in the browser (and recorded): the pages under test are all on this machine, and oidc-provider's
 * development pages import a web font that must not be fetched.
 */
export const launchChromium = async (executablePath: string): Promise<LaunchedChromium> => {
  const userDataDir = await mkdtemp(join(tmpdir(), "authchart-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
  // A step that cannot happen fails with the locator it waited for, within the test's timeout.
  context.setDefaultTimeout(15_000);
  const blocked: string[] = [];
  await context.route(
    (url) => !isLoopback(url.href),
    (route) => {
      blocked.push(route.request().url());
      return route.abort("blockedbyclient");
    },
  );
  let closing: Promise<void> | undefined;
  return {
    context,
    blocked,
    close: () => {
      closing ??= context.close().finally(() => rm(userDataDir, { recursive: true, force: true }));
      return closing;
    },
  };
};
